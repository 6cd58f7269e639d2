//! Replays the seed corpus and every saved regression through the fuzz bodies under
//! plain `cargo test`, so no input that once crashed can come back unnoticed.

use std::path::Path;

fn replay(dir: &Path) -> usize {
    let mut n = 0;
    let Ok(targets) = std::fs::read_dir(dir) else { return 0 };
    for target in targets.flatten() {
        let name = target.file_name().to_string_lossy().into_owned();
        let body: fn(&[u8]) = match name.as_str() {
            "decode_pdu" => smpp_fuzz::decode_pdu,
            "roundtrip" => smpp_fuzz::roundtrip,
            "frame_stream" => smpp_fuzz::frame_stream,
            "session_esme" => smpp_fuzz::session_esme,
            "session_smsc" => smpp_fuzz::session_smsc,
            "text_decode" => smpp_fuzz::text_decode,
            "receipt_parse" => smpp_fuzz::receipt_parse,
            "reassembly" => smpp_fuzz::reassembly,
            _ => continue,
        };
        for input in std::fs::read_dir(target.path()).into_iter().flatten().flatten() {
            let data = std::fs::read(input.path()).unwrap();
            body(&data);
            n += 1;
        }
    }
    n
}

#[test]
fn the_corpus_and_every_regression_replay_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = replay(&root.join("corpus"));
    assert!(corpus >= 100, "the seed corpus is there ({corpus} inputs)");
    replay(&root.join("regressions"));
}
