//! The store conformance suite, run against every backend built in.

#[tokio::test]
async fn the_memory_store_passes_the_conformance_suite() {
    let result =
        smpp_server::store::conformance::check(async |limits| smpp_server::store::MemoryStore::new(limits)).await;
    assert_eq!(result, Ok(()));
}
