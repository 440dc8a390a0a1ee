//! Staff passwords (argon2id) and API tokens (random, stored hashed).
mod common;

use expect_test::expect;
use urne_roll::staff::*;

#[test]
fn password_hash_and_verify() {
    let mut rng = common::rng(1);
    let phc = hash_password("correct horse battery", &mut rng).unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(verify_password("correct horse battery", &phc).is_ok());
    assert_eq!(
        verify_password("correct horse batterz", &phc),
        Err(CredentialError::Wrong)
    );
    // A fresh salt each time.
    assert_ne!(
        hash_password("correct horse battery", &mut rng).unwrap(),
        phc
    );
}

#[test]
fn password_refusals() {
    let mut rng = common::rng(2);
    let out: String = [
        hash_password("short", &mut rng).unwrap_err(),
        hash_password(&"x".repeat(1025), &mut rng).unwrap_err(),
        verify_password("whatever at all", "not a phc string").unwrap_err(),
        verify_password(
            "whatever at all",
            "$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        )
        .unwrap_err(),
        verify_password(
            &"x".repeat(1025),
            "$argon2id$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
        )
        .unwrap_err(),
    ]
    .iter()
    .map(|e| format!("{e}\n"))
    .collect();
    expect![[r#"
        password shorter than 12 characters
        password longer than 1024 bytes
        stored password hash is malformed
        stored password hash is malformed
        password longer than 1024 bytes
    "#]]
    .assert_eq(&out);
}

#[test]
fn tokens() {
    let mut rng = common::rng(3);
    let (token, stored) = mint_token(&mut rng);
    let secret = token.danger_secret().to_owned();
    assert!(secret.starts_with(TOKEN_PREFIX) && secret.len() == TOKEN_PREFIX.len() + 64);
    assert!(verify_token(&secret, &stored).is_ok());
    assert_eq!(format!("{token:?}"), "ApiToken(<redacted>)");
    let mut wrong = secret.clone();
    wrong.pop();
    wrong.push('g');
    assert_eq!(verify_token(&wrong, &stored), Err(CredentialError::Wrong));
    assert_eq!(verify_token("", &stored), Err(CredentialError::Wrong));
    let (other, _) = mint_token(&mut rng);
    assert_ne!(other.danger_secret(), secret);
    // The stored hash is not the token.
    assert!(!secret.contains(&urne_roll::digest::hex(&stored.0)));
}
