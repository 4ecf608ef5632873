//! Passwords: the rule people must meet, and Argon2id hashing.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::{AppError, FieldError};

pub const MIN_CHARS: usize = 12;
/// Argon2 takes any length; a bound keeps one request from costing much.
pub const MAX_CHARS: usize = 200;

/// 422 on `password` unless it has 12–200 characters and is not easy to
/// guess: zxcvbn (which knows the usual leaked-password lists, keyboard
/// walks, repeats, dates and the person's own name and address) must rate
/// it at least 3 of 4.
pub fn check(password: &str, personal: &[&str]) -> Result<(), AppError> {
    let n = password.chars().count();
    let refuse = |code: &str, message: &str| {
        let mut error = FieldError::coded("password", code, message);
        error.params = vec![
            ("min".into(), MIN_CHARS.to_string()),
            ("max".into(), MAX_CHARS.to_string()),
        ];
        Err(AppError::Validation(vec![error]))
    };
    if !(MIN_CHARS..=MAX_CHARS).contains(&n) {
        return refuse("length", "must have 12 to 200 characters");
    }
    if password.chars().any(char::is_control) {
        return refuse("control_character", "must not contain control characters");
    }
    let score = zxcvbn::zxcvbn(password, personal).score();
    if u8::from(score) < 3 {
        return refuse(
            "common_password",
            "is too easy to guess (a common password, a pattern or your own name)",
        );
    }
    Ok(())
}

/// The Argon2id PHC string of `password` with a fresh salt.
pub fn hash(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("hashing a password: {e}")))
}

/// Whether `password` matches the stored PHC string. A string that does not
/// parse matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Spends the time of one verification, for sign-ins of unknown addresses,
/// so that timing does not tell which addresses have accounts.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("an unused password").unwrap_or_default());
    let _ = verify(password, stored);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash("cobre en los andes 2022").unwrap();
        let b = hash("cobre en los andes 2022").unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("cobre en los andes 2022", &a));
        assert!(!verify("cobre en los andes 2023", &a));
        assert!(!verify("x", "not a hash"));
    }

    #[test]
    fn short_common_and_personal_passwords_are_refused() {
        assert!(check("corta", &[]).is_err());
        assert!(check("password1234", &[]).is_err());
        assert!(check("123456789012", &[]).is_err());
        assert!(check("qwertyuiopasdf", &[]).is_err());
        // The address before the @ as the password.
        assert!(check("mariaquispe1990", &["mariaquispe1990"]).is_err());
        assert!(check(&"a".repeat(201), &[]).is_err());
        assert!(check("cobre en los andes 2022", &[]).is_ok());
        assert!(check("Tres llamas cruzan el Apurímac", &[]).is_ok());
    }
}
