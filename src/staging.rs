//! Files a person uploaded, kept between the check a page shows them and
//! the import they confirm (the entries CSV: "import only the valid rows"),
//! so that the page does not ask for the file twice. Kept in the database,
//! seen by every server process; each belongs to who sent it and lives a
//! day at most (older ones are removed whenever another is staged).

use chrono::Duration;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::schema::staged_uploads;

/// How long a staged file waits for its confirmation.
const LIFETIME_HOURS: i64 = 24;

/// A staged file as taken back.
#[derive(Debug)]
pub struct Staged {
    pub filename: String,
    pub data: Vec<u8>,
}

/// Keeps `data` for `owner` (a user id) and `purpose`; returns its id.
pub fn stage(
    conn: &mut DbConn,
    owner: &str,
    purpose: &str,
    filename: &str,
    data: &[u8],
) -> Result<String, AppError> {
    let id = Uuid::new_v4().to_string();
    db::write_tx(conn, |conn| {
        diesel::delete(
            staged_uploads::table
                .filter(staged_uploads::created_at.lt(db::now() - Duration::hours(LIFETIME_HOURS))),
        )
        .execute(conn)?;
        diesel::insert_into(staged_uploads::table)
            .values((
                staged_uploads::id.eq(&id),
                staged_uploads::owner.eq(owner),
                staged_uploads::purpose.eq(purpose),
                staged_uploads::filename.eq(filename),
                staged_uploads::data.eq(data),
                staged_uploads::created_at.eq(db::now()),
            ))
            .execute(conn)?;
        Ok(id.clone())
    })
}

/// The file `id` if `owner` staged it for `purpose` within the day; 404
/// otherwise (another person's file is not theirs to import).
pub fn load(conn: &mut DbConn, id: &str, owner: &str, purpose: &str) -> Result<Staged, AppError> {
    staged_uploads::table
        .find(id)
        .filter(staged_uploads::owner.eq(owner))
        .filter(staged_uploads::purpose.eq(purpose))
        .filter(staged_uploads::created_at.ge(db::now() - Duration::hours(LIFETIME_HOURS)))
        .select((staged_uploads::filename, staged_uploads::data))
        .first::<(String, Vec<u8>)>(conn)
        .optional()?
        .map(|(filename, data)| Staged { filename, data })
        .ok_or_else(|| {
            AppError::NotFound("that upload is no longer kept: send the file again".into())
        })
}

/// Forgets the file `id` (once imported).
pub fn discard(conn: &mut DbConn, id: &str) -> Result<(), AppError> {
    diesel::delete(staged_uploads::table.find(id)).execute(conn)?;
    Ok(())
}
