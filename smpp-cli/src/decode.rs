//! `smpp decode`: PDUs from hex, printed field by field or as JSON.

use std::io::Read;
use std::process::ExitCode;

use serde_json::{Map, Value, json};
use smpp_client::smpp_wire::{Field, FieldValue, MAX_PDU_LEN_DEFAULT, Pdu, Tlvs, frame_len};

#[derive(Debug, clap::Args)]
pub(crate) struct DecodeArgs {
    /// One JSON object per PDU.
    #[arg(long)]
    json: bool,
    /// The PDU(s) in hex (spaces allowed); read from stdin when absent.
    hex: Option<String>,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

pub(crate) fn run(args: DecodeArgs) -> Res<ExitCode> {
    let text = match args.hex {
        Some(h) => h,
        None => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        }
    };
    let bytes = parse_hex(&text)?;
    if bytes.is_empty() {
        return Err("no hex input".into());
    }
    let mut offset = 0;
    while offset < bytes.len() {
        let rest = bytes.get(offset..).unwrap_or_default();
        let n = match frame_len(rest, MAX_PDU_LEN_DEFAULT) {
            Ok(Some(n)) => n,
            Ok(None) => {
                let need = rest.first_chunk::<4>().map(|l| u32::from_be_bytes(*l));
                return Err(match need {
                    Some(len) => format!(
                        "truncated PDU at offset {offset}: command_length is {len} but only {} octets follow",
                        rest.len()
                    ),
                    None => format!("truncated PDU at offset {offset}: {} octets, fewer than a header", rest.len()),
                }
                .into());
            }
            Err(e) => return Err(format!("bad PDU at offset {offset}: {e}").into()),
        };
        let frame = bytes::Bytes::copy_from_slice(rest.get(..n).unwrap_or_default());
        // The error names the field and its offset within the PDU.
        let pdu = Pdu::decode(frame).map_err(|e| format!("malformed PDU starting at offset {offset}: {e}"))?;
        if args.json {
            println!("{}", to_json(&pdu));
        } else {
            print_text(&pdu, n);
        }
        offset += n;
    }
    Ok(ExitCode::SUCCESS)
}

/// Hex digits, with whitespace, `0x` prefixes and `:` separators ignored.
fn parse_hex(text: &str) -> Res<Vec<u8>> {
    let cleaned: Vec<(usize, char)> =
        text.replace("0x", "  ").char_indices().filter(|(_, c)| !c.is_whitespace() && *c != ':').collect();
    if let Some((at, c)) = cleaned.iter().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(format!("bad hex: {c:?} at character {at}").into());
    }
    if !cleaned.len().is_multiple_of(2) {
        return Err("bad hex: an odd number of digits".into());
    }
    Ok(cleaned
        .chunks(2)
        .map(|p| {
            let d = |k: usize| p.get(k).and_then(|(_, c)| c.to_digit(16)).unwrap_or(0) as u8;
            d(0) << 4 | d(1)
        })
        .collect())
}

fn printable(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok().filter(|s| s.chars().all(|c| !c.is_control() || c == '\n'))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn value_text(v: &FieldValue) -> String {
    match v {
        FieldValue::Int(n) => n.to_string(),
        FieldValue::CString(b) => format!("\"{}\"", b.escape_ascii()),
        FieldValue::Octets(b) => match printable(b) {
            Some(s) => format!("\"{s}\""),
            None => format!("0x{}", hex(b)),
        },
        FieldValue::Time(t) => t.map(|t| t.to_string()).unwrap_or_else(|| "\"\"".into()),
        FieldValue::Status(s) => s.to_string(),
        FieldValue::Redacted => "***".into(),
        FieldValue::List(items) => format!("{} item(s)", items.len()),
        FieldValue::Tlvs(t) => format!("{} TLV(s)", t.len()),
        _ => "?".into(),
    }
}

fn print_fields(fields: &[Field], indent: &str) {
    for f in fields {
        match &f.value {
            FieldValue::List(items) => {
                println!("{indent}{}:", f.name);
                for (k, item) in items.iter().enumerate() {
                    println!("{indent}  [{k}]");
                    print_fields(item, &format!("{indent}    "));
                }
            }
            FieldValue::Tlvs(tlvs) => print_tlvs(tlvs, indent),
            v => println!("{indent}{}: {}", f.name, value_text(v)),
        }
    }
}

fn print_tlvs(tlvs: &Tlvs, indent: &str) {
    if tlvs.is_empty() {
        return;
    }
    println!("{indent}tlvs:");
    for t in tlvs {
        let v = t.value_octets();
        let name = t.tag().name().unwrap_or("unknown");
        let shown = printable(v.strip_suffix(&[0]).unwrap_or(&v))
            .map_or_else(|| format!("0x{}", hex(&v)), |s| format!("\"{s}\""));
        println!("{indent}  {name} ({:#06x}, {} octets): {shown}", t.tag().0, v.len());
    }
}

fn print_text(pdu: &Pdu, len: usize) {
    println!("{} seq {} status {} (command_length {len})", pdu.command_id(), pdu.sequence, pdu.status);
    print_fields(&pdu.fields(), "  ");
}

fn value_json(v: &FieldValue) -> Value {
    match v {
        FieldValue::Int(n) => json!(n),
        FieldValue::CString(b) => json!(String::from_utf8_lossy(b)),
        FieldValue::Octets(b) => match printable(b) {
            Some(s) => json!(s),
            None => json!(hex(b)),
        },
        FieldValue::Time(t) => json!(t.map(|t| t.to_string()).unwrap_or_default()),
        FieldValue::Status(s) => json!(crate::status_text(*s)),
        FieldValue::Redacted => json!("***"),
        FieldValue::List(items) => Value::Array(items.iter().map(|i| fields_json(i)).collect()),
        FieldValue::Tlvs(t) => Value::Array(
            t.iter()
                .map(|t| {
                    let v = t.value_octets();
                    let mut m = Map::new();
                    m.insert("tag".into(), json!(format!("{:#06x}", t.tag().0)));
                    m.insert("name".into(), json!(t.tag().name().unwrap_or("unknown")));
                    m.insert("length".into(), json!(v.len()));
                    let shown = printable(v.strip_suffix(&[0]).unwrap_or(&v)).map_or_else(|| hex(&v), str::to_owned);
                    m.insert("value".into(), json!(shown));
                    Value::Object(m)
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

fn fields_json(fields: &[Field]) -> Value {
    let mut m = Map::new();
    for f in fields {
        m.insert(f.name.to_owned(), value_json(&f.value));
    }
    Value::Object(m)
}

fn to_json(pdu: &Pdu) -> Value {
    let mut m = Map::new();
    let id = pdu.command_id();
    m.insert("command_id".into(), json!(id.name().map_or_else(|| format!("{:#010x}", id.0), str::to_owned)));
    m.insert("command_status".into(), json!(crate::status_text(pdu.status)));
    m.insert("sequence_number".into(), json!(pdu.sequence.value()));
    let mut has_tlvs = false;
    for f in pdu.fields() {
        has_tlvs |= f.name == "tlvs";
        m.insert(f.name.to_owned(), value_json(&f.value));
    }
    if !has_tlvs {
        m.insert("tlvs".into(), json!([]));
    }
    Value::Object(m)
}
