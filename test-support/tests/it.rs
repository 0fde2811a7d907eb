//! The harness against a real moto_server: start, tables per the contract, things, stop on drop.

use rainmaker_model::Table;
use rainmaker_test_support::{create_tables, unique_prefix, MotoServer};

#[tokio::test]
async fn shared_server_serves_the_six_tables() {
    let moto = MotoServer::shared();
    let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let names = create_tables(&ddb, &unique_prefix("harness")).await;
    for t in Table::ALL {
        let d = ddb.describe_table().table_name(names.get(t)).send().await.unwrap();
        let desc = d.table().unwrap();
        let key: Vec<&str> = desc.key_schema().iter().map(|k| k.attribute_name()).collect();
        let want: Vec<&str> = std::iter::once(t.key().partition.0).chain(t.key().sort.map(|s| s.0)).collect();
        assert_eq!(key, want, "{t:?}");
        let gsis: Vec<&str> = desc.global_secondary_indexes().iter().filter_map(|g| g.index_name()).collect();
        assert_eq!(gsis, t.gsis().iter().map(|g| g.name).collect::<Vec<_>>(), "{t:?}");
    }
    moto.create_thing("harness-thing");
}

#[test]
fn dropping_a_server_stops_it() {
    let moto = MotoServer::start();
    let url = moto.endpoint_url();
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    assert!(std::net::TcpStream::connect(addr).is_ok());
    drop(moto);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_ok() {
        assert!(std::time::Instant::now() < deadline, "moto still listening on {addr} after drop");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
