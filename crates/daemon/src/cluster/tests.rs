use super::*;
use pm2_wire::ipc;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream as StdStream;

/// A worker whose channel the test reads as the child would.
fn worker(cluster: &mut Cluster, pm_id: u64, app: &str) -> BufReader<StdStream> {
    let (parent, child) = ipc::channel().unwrap();
    let (_reader, writer) = ipc::split(parent, ipc::Peer::Node);
    let dir = std::env::temp_dir();
    cluster.add_worker(pm_id, 1, app, std::process::id(), &dir, writer);
    BufReader::new(StdStream::from(child))
}

async fn next_line(r: &mut BufReader<StdStream>) -> Value {
    tokio::task::yield_now().await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap()
}

fn query(port: u16, seq: u64) -> Value {
    json!({"cmd": "NODE_CLUSTER", "act": "queryServer", "index": 0, "data": null,
           "address": "127.0.0.1", "port": port, "addressType": 4, "seq": seq})
}

#[tokio::test]
async fn every_app_asking_for_an_address_shares_its_socket_until_the_last_is_released() {
    let mut c = Cluster::default();
    let mut a = worker(&mut c, 0, "api");
    c.on_message(0, 1, &query(0, 1));
    let first = next_line(&mut a).await;
    assert_eq!(first["cmd"], "NODE_HANDLE");
    assert_eq!(first["msg"]["errno"], 0);
    assert_eq!(first["msg"]["ack"], 1);
    assert_eq!(first["msg"]["key"], "127.0.0.1:0:4:undefined:0");
    assert!(c.holds("api"));
    let port = {
        let l = &c.listeners["127.0.0.1:0:4:undefined:0"];
        let addr: SockaddrIn = nix::sys::socket::getsockname(l.fd.as_raw_fd()).unwrap();
        addr.port()
    };
    // A second app asking for that address gets the same socket.
    let mut b = worker(&mut c, 1, "other");
    c.on_message(1, 1, &query(0, 1));
    let shared = next_line(&mut b).await;
    assert_eq!(shared["cmd"], "NODE_HANDLE");
    assert_eq!(shared["msg"]["errno"], 0);
    assert_eq!(c.listeners.len(), 1);
    // Released by one app, it stays open for the other.
    c.release("api");
    assert!(!c.holds("api"));
    assert!(c.holds("other"));
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_err());
    c.release("other");
    assert!(c.listeners.is_empty());
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
}

#[tokio::test]
async fn a_relative_unix_socket_path_is_a_different_socket_per_folder() {
    let mut c = Cluster::default();
    for (pm_id, dir) in [(0, "/srv/a"), (1, "/srv/b")] {
        let (parent, _child) = ipc::channel().unwrap();
        let (_reader, writer) = ipc::split(parent, ipc::Peer::Node);
        c.add_worker(pm_id, 1, "app", 1, Path::new(dir), writer);
    }
    let unix = |addr: &str| json!({"address": addr, "port": null, "addressType": -1});
    let key = |pm_id: u64, msg: &Value| listener_key("k", msg, &c.workers[&(pm_id, 1)]);
    assert_ne!(key(0, &unix("app.sock")), key(1, &unix("app.sock")));
    assert_eq!(
        key(0, &unix("/run/app.sock")),
        key(1, &unix("/run/app.sock"))
    );
    let tcp = query(8000, 1);
    assert_eq!(key(0, &tcp), key(1, &tcp));
}

#[tokio::test]
async fn a_second_handle_waits_for_the_ack_of_the_first() {
    let mut c = Cluster::default();
    let mut a = worker(&mut c, 0, "api");
    c.on_message(0, 1, &query(0, 1));
    let mut second = query(0, 2);
    second["index"] = json!(1);
    c.on_message(0, 1, &second);
    assert_eq!(next_line(&mut a).await["msg"]["ack"], 1);
    assert_eq!(c.workers[&(0, 1)].waiting.len(), 1);
    c.on_message(0, 1, &json!({"cmd": "NODE_HANDLE_ACK"}));
    assert_eq!(next_line(&mut a).await["msg"]["ack"], 2);
    assert_eq!(
        c.on_message(
            0,
            1,
            &json!({"cmd": "NODE_CLUSTER", "act": "listening", "seq": 3})
        ),
        Event::Listening
    );
}
