// Migrations are embedded with `embed_migrations!`; SQL-only edits must rebuild.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
