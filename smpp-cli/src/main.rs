//! The `smpp` command (work in progress): send, serve, bench and decode.

fn main() {
    std::process::exit(2);
}
