//! `SimArgs` parsing through a tiny clap wrapper, and `SimConfig::from_args`.

use std::io::Write as _;

use clap::Parser;

use crate::domo::{DEFAULT_SEED, SimArgs, SimConfig, Simulator};

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    sim: SimArgs,
}

fn parse(args: &[&str]) -> Result<SimArgs, clap::Error> {
    Cli::try_parse_from(std::iter::once("domo-sim").chain(args.iter().copied())).map(|c| c.sim)
}

#[test]
fn defaults_match_the_documented_ones() {
    let args = parse(&[]).expect("no arguments");
    let config = SimConfig::from_args(&args).expect("config");
    assert_eq!(config.listen.to_string(), "127.0.0.1:8090");
    assert_eq!(config.client_id, "sim-client");
    assert_eq!(config.client_secret, "sim-secret");
    assert_eq!(config.token_ttl_secs, 3600);
    assert_eq!(config.seed, DEFAULT_SEED);
    assert_eq!(config.faults.rate_429, 0.0);
    assert!(config.users.is_empty());
}

#[test]
fn every_flag_is_parsed() {
    let mut seeds = tempfile::NamedTempFile::new().expect("temp file");
    write!(
        seeds,
        r#"[{{"email":"ada@example.com","name":"Ada","role":"Admin"}},
            {{"email":"bob@example.com","name":"Bob"}}]"#
    )
    .expect("write seeds");
    let path = seeds.path().to_str().expect("utf-8 path").to_owned();
    let args = parse(&[
        "--listen",
        "127.0.0.1:0",
        "--client-id",
        "id",
        "--client-secret",
        "secret",
        "--token-ttl-secs",
        "5",
        "--rate-429",
        "0.25",
        "--retry-after-share",
        "1",
        "--retry-after-secs",
        "3",
        "--rate-5xx",
        "0.5",
        "--latency-ms",
        "10",
        "--latency-jitter-ms",
        "20",
        "--drop-rate",
        "0.1",
        "--seed-users",
        &path,
        "--generate-users",
        "3",
        "--seed",
        "9",
    ])
    .expect("all flags");
    let config = SimConfig::from_args(&args).expect("config");
    assert_eq!(config.client_id, "id");
    assert_eq!(config.client_secret, "secret");
    assert_eq!(config.token_ttl_secs, 5);
    assert_eq!(config.seed, 9);
    let f = &config.faults;
    assert_eq!(
        (
            f.rate_429,
            f.retry_after_share,
            f.retry_after_secs,
            f.rate_5xx
        ),
        (0.25, 1.0, 3, 0.5)
    );
    assert_eq!(
        (f.latency_ms, f.latency_jitter_ms, f.drop_rate),
        (10, 20, 0.1)
    );
    let emails: Vec<&str> = config.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(
        emails,
        [
            "ada@example.com",
            "bob@example.com",
            "user1@example.com",
            "user2@example.com",
            "user3@example.com"
        ]
    );
    assert_eq!(config.users[1].role, "Participant");

    let state = Simulator::new(config).snapshot();
    assert_eq!(state.users.len(), 6, "owner + 2 seeded + 3 generated");
    let default = &state.groups[0];
    assert!(default.default && default.name == "Default");
    assert_eq!(default.members.len(), 6, "everyone is in the default group");
}

#[test]
fn bad_values_are_rejected() {
    assert!(parse(&["--listen", "nowhere"]).is_err());
    assert!(parse(&["--rate-429", "lots"]).is_err());
    let args = parse(&["--drop-rate", "1.5"]).expect("parses");
    assert!(SimConfig::from_args(&args).is_err(), "rate above 1");
    let args = parse(&["--seed-users", "/nonexistent/seed.json"]).expect("parses");
    assert!(SimConfig::from_args(&args).is_err(), "missing file");

    let mut bad = tempfile::NamedTempFile::new().expect("temp file");
    write!(
        bad,
        r#"[{{"email":"a@example.com","name":"A","role":"Wizard"}}]"#
    )
    .expect("write");
    let path = bad.path().to_str().expect("utf-8 path").to_owned();
    let error = SimConfig::from_args(&parse(&["--seed-users", &path]).expect("parses"))
        .expect_err("unknown role");
    assert!(error.to_string().contains("Wizard"), "{error}");
}
