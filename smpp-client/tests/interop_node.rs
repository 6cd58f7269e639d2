//! Interoperability with software we did not write: our client against node-smpp's
//! server (`interop/node/smsc.js`). `.ci/run` installs the peer with npm; a missing
//! peer fails this test, it is never skipped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use smpp_client::smpp_wire::{Address, RegisteredDelivery, ShortMessage, SubmitSm};
use smpp_client::{Client, ClientConfig, InboundMessage};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop/node")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_against_node_smpp() {
    let dir = interop_dir();
    assert!(
        dir.join("node_modules/smpp/package.json").exists(),
        "node-smpp is not installed: run `npm ci --prefix interop/node` (.ci/run does)"
    );
    let mut node = Command::new("node")
        .arg("smsc.js")
        .arg("0")
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node must be installed to run the interop test");
    let mut lines = BufReader::new(node.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.unwrap().unwrap().unwrap();
    let port: u16 = first.strip_prefix("LISTENING ").expect("LISTENING line").parse().unwrap();

    let config = ClientConfig::new("127.0.0.1", port, "test", "secret").window(10).with_session(|s| {
        s.enquire_link_interval(Some(Duration::from_millis(500)));
    });
    let (client, mut incoming) = Client::connect(config).await.expect("bind to node-smpp");

    let tasks: Vec<_> = (0..1000)
        .map(|k| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut sm = SubmitSm::default();
                sm.source_addr = Address::international("12345").unwrap();
                sm.destination_addr = Address::international("447700900123").unwrap();
                sm.short_message = ShortMessage::new(format!("message {k}").into_bytes()).unwrap();
                if k == 0 {
                    sm.registered_delivery = RegisteredDelivery::RECEIPT;
                }
                client.submit(sm).await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().expect("submit").message_id.to_string());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1000);

    let receipt = tokio::time::timeout(Duration::from_secs(10), incoming.recv()).await.unwrap().unwrap();
    let InboundMessage::Receipt(d) = &receipt.message else { panic!("expected a receipt: {receipt:?}") };
    let text = String::from_utf8_lossy(d.short_message.as_bytes()).into_owned();
    assert!(text.contains("stat:DELIVRD") && text.starts_with("id:node-"), "{text}");

    // Let a few enquire_links go both ways, then unbind.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    client.unbind().await;

    let mut seen = Vec::new();
    while let Ok(Ok(Some(line))) = tokio::time::timeout(Duration::from_secs(5), lines.next_line()).await {
        let done = line == "UNBIND";
        seen.push(line);
        if done {
            break;
        }
    }
    let has = |s: &str| seen.iter().any(|l| l == s);
    assert!(has("BIND"), "{seen:?}");
    assert!(has("SUBMIT 1000"), "{seen:?}");
    assert!(has("RECEIPT_ACK 0"), "the receipt was acknowledged: {seen:?}");
    assert!(has("ENQUIRE_LINK"), "our enquire_link reached node-smpp: {seen:?}");
    assert!(has("ENQUIRE_LINK_RESP 0"), "we answered node-smpp's enquire_link: {seen:?}");
    assert!(has("UNBIND"), "{seen:?}");
    let _ = node.kill().await;
}
