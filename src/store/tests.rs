//! Unit tests of the store's pools: the relaxed writer, and connections that lost track of
//! their transaction.

use super::*;
use crate::config::Secret;

async fn sqlite_file(dir: &tempfile::TempDir) -> SqliteStore {
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let config = StoreConfig {
        url: Secret::new(url),
        group_commit: true,
        max_batch: 8,
        max_connections: 2,
    };
    match Store::connect(&config).await.expect("connect") {
        Store::Sqlite(s) => s,
        Store::Postgres(_) => unreachable!("a sqlite URL"),
    }
}

/// The writer's `PRAGMA synchronous`: 1 = NORMAL, 2 = FULL.
async fn writer_synchronous(s: &SqliteStore) -> i64 {
    sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&s.write)
        .await
        .expect("pragma")
}

#[tokio::test]
async fn a_relaxed_writer_is_durable_again_once_returned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = sqlite_file(&dir).await;
    assert_eq!(writer_synchronous(&s).await, 2, "FULL by default");
    let mut conn = s.relaxed_writer().await.expect("relaxed");
    let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await
        .expect("pragma");
    assert_eq!(level, 1, "NORMAL while held");
    drop(conn);
    assert_eq!(writer_synchronous(&s).await, 2, "FULL once returned");
}

#[tokio::test]
async fn a_cancelled_relaxed_transaction_still_restores_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = sqlite_file(&dir).await;
    let work = async {
        let mut conn = s.relaxed_writer().await.expect("relaxed");
        let mut tx = sqlx::Connection::begin(&mut *conn).await.expect("begin");
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut *tx)
            .await
            .expect("create");
        std::future::pending::<()>().await;
    };
    // The caller gives up half-way (a shutdown deadline): the future is dropped with the
    // transaction open and the connection relaxed.
    let cancelled = tokio::time::timeout(Duration::from_millis(50), work).await;
    assert!(cancelled.is_err());
    assert_eq!(
        writer_synchronous(&s).await,
        2,
        "FULL after a cancelled holder"
    );
    let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 't'")
        .fetch_one(&s.write)
        .await
        .expect("count");
    assert_eq!(tables, 0, "the open transaction was rolled back");
}

/// SQLite rolls a transaction back by itself when a commit fails on a full disk (found
/// by `outage::disk`: acknowledged events lost). sqlx does not see that rollback, its own
/// then fails, and the connection keeps counting an open transaction: the next
/// "transaction" on it is a savepoint, and once a failed one leaves a real transaction
/// open beneath, a later "commit" only releases a savepoint and commits nothing. The pool
/// must close such a connection instead of handing it out again. (A raw `ROLLBACK` inside
/// the transaction stands in for SQLite's own.)
#[tokio::test]
async fn a_transaction_the_database_rolled_back_by_itself_leaves_no_false_commit_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = sqlite_file(&dir).await;
    sqlx::query("CREATE TABLE t (v TEXT)")
        .execute(&s.write)
        .await
        .expect("create");
    let mut tx = s.write.begin().await.expect("begin");
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut *tx)
        .await
        .expect("the database's own rollback");
    drop(tx);
    // A failure that leaves the database's transaction open (a failed commit).
    let mut tx = s.write.begin().await.expect("begin");
    sqlx::query("INSERT INTO t (v) VALUES ('failed')")
        .execute(&mut *tx)
        .await
        .expect("insert");
    drop(tx);
    let mut tx = s.write.begin().await.expect("begin");
    sqlx::query("INSERT INTO t (v) VALUES ('acknowledged')")
        .execute(&mut *tx)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    let rows: Vec<String> = sqlx::query_scalar("SELECT v FROM t")
        .fetch_all(&s.read)
        .await
        .expect("read");
    assert_eq!(
        rows,
        vec!["acknowledged".to_owned()],
        "a commit that returned Ok is visible to every connection"
    );
}

#[test]
fn placeholders_are_rewritten_for_sqlite_and_cached() {
    let a = sqlite_sql("SELECT $1, $2, $1");
    assert_eq!(a, "SELECT ?1, ?2, ?1");
    let b = sqlite_sql("SELECT $1, $2, $1");
    assert_eq!(a.as_ptr(), b.as_ptr(), "the same literal is converted once");
}
