//! The binary's subcommands as a user runs them.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_domo-group-sync"))
}

#[test]
fn sign_prints_headers_that_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let body = dir.path().join("body.json");
    std::fs::write(&body, "Hello, World!").expect("write");
    let out = bin()
        .args([
            "sign",
            "--scheme",
            "github",
            "--secret",
            "It's a Secret to Everybody",
            "--body",
        ])
        .arg(&body)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // GitHub's documented test value for this secret and payload.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
}

#[test]
fn sign_with_url_prints_a_curl_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let body = dir.path().join("e.json");
    std::fs::write(&body, "{}").expect("write");
    let out = bin()
        .args([
            "sign",
            "--scheme",
            "standard-webhooks",
            "--secret",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ])
        .args([
            "--id",
            "msg_1",
            "--timestamp",
            "1614265330",
            "--url",
            "http://127.0.0.1:8080/webhooks/demo",
            "--body",
        ])
        .arg(&body)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("curl "), "{text}");
    assert!(
        text.contains("'webhook-id: msg_1'") && text.contains("'webhook-timestamp: 1614265330'"),
        "{text}"
    );
}

#[test]
fn check_config_prints_every_problem_and_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[server]\nlisen = 1\n\n[[sources]]\nname = \"x y\"\nformat = \"canonical\"\nscheme = \"github\"\nsecrets = []\n").expect("write");
    let out = bin()
        .args(["check-config", "--config"])
        .arg(&path)
        .env_remove("DGS_CONFIG")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lisen")
            && err.contains("sources[0].name")
            && err.contains("sources[0].secrets"),
        "{err}"
    );

    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[[sources]]\nname = \"gh\"\nformat = \"canonical\"\nscheme = \"github\"\nsecrets = [\"s\"]\n").expect("write");
    let out = bin()
        .args(["check-config", "--config"])
        .arg(&good)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 source(s)"));
}

#[test]
fn openapi_prints_the_document() {
    let out = bin().arg("openapi").output().expect("runs");
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        doc["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.1")
    );
    assert!(doc["paths"]["/webhooks/{source}"]["post"].is_object());
}
