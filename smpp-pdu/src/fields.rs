//! A generic view of a PDU's fields under their spec names, for printing, logging and
//! tests (`smpp decode` uses it). Not a hot path: values are copied out.

use bytes::Bytes;

use crate::{
    Address, Body, BoundedVec, COctetString, CommandStatus, DataCoding, EsmClass, InterfaceVersion, MessageState, Npi,
    Password, Pdu, PriorityFlag, RegisteredDelivery, ShortMessage, SmppTime, Ton, tlv::Tlvs,
};

/// One field of a PDU body.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Field {
    /// The spec name (`source_addr_ton`, `short_message`, ...).
    pub name: &'static str,
    /// The value.
    pub value: FieldValue,
}

/// A field value.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum FieldValue {
    /// An integer field.
    Int(u32),
    /// A C-octet string, without its NUL.
    CString(Bytes),
    /// An octet string.
    Octets(Bytes),
    /// A time field (`None` when empty).
    Time(Option<SmppTime>),
    /// A command_status value.
    Status(CommandStatus),
    /// A password (never shown).
    Redacted,
    /// A counted list (destinations, unsuccessful destinations, message ids).
    List(Vec<Vec<Field>>),
    /// The TLVs.
    Tlvs(Tlvs),
}

/// Field types list themselves.
pub(crate) trait Visit {
    fn visit(&self, name: &'static str, out: &mut Vec<Field>);
}

fn push(out: &mut Vec<Field>, name: &'static str, value: FieldValue) {
    out.push(Field { name, value });
}

macro_rules! visit_int {
    ($($t:ty),*) => {$(
        impl Visit for $t {
            fn visit(&self, name: &'static str, out: &mut Vec<Field>) {
                push(out, name, FieldValue::Int(u32::from(self.0)));
            }
        }
    )*};
}

visit_int!(Ton, Npi, EsmClass, RegisteredDelivery, DataCoding, PriorityFlag, MessageState, InterfaceVersion);

impl Visit for u8 {
    fn visit(&self, name: &'static str, out: &mut Vec<Field>) {
        push(out, name, FieldValue::Int(u32::from(*self)));
    }
}

impl Visit for CommandStatus {
    fn visit(&self, name: &'static str, out: &mut Vec<Field>) {
        push(out, name, FieldValue::Status(*self));
    }
}

impl<const N: usize> Visit for COctetString<N> {
    fn visit(&self, name: &'static str, out: &mut Vec<Field>) {
        push(out, name, FieldValue::CString(Bytes::copy_from_slice(self.as_bytes())));
    }
}

impl Visit for Password {
    fn visit(&self, name: &'static str, out: &mut Vec<Field>) {
        push(out, name, FieldValue::Redacted);
    }
}

impl<const N: usize> Visit for Address<N> {
    fn visit(&self, name: &'static str, out: &mut Vec<Field>) {
        let (ton, npi) = match name {
            "source_addr" => ("source_addr_ton", "source_addr_npi"),
            "destination_addr" => ("dest_addr_ton", "dest_addr_npi"),
            "esme_addr" => ("esme_addr_ton", "esme_addr_npi"),
            "address_range" => ("addr_ton", "addr_npi"),
            _ => ("ton", "npi"),
        };
        self.ton.visit(ton, out);
        self.npi.visit(npi, out);
        self.addr.visit(name, out);
    }
}

impl Visit for Option<SmppTime> {
    fn visit(&self, name: &'static str, out: &mut Vec<Field>) {
        push(out, name, FieldValue::Time(*self));
    }
}

impl Visit for ShortMessage {
    fn visit(&self, _name: &'static str, out: &mut Vec<Field>) {
        // The type bounds the length to 254.
        push(out, "sm_length", FieldValue::Int(self.len() as u32));
        push(out, "short_message", FieldValue::Octets(self.to_bytes()));
    }
}

impl Visit for Tlvs {
    fn visit(&self, name: &'static str, out: &mut Vec<Field>) {
        push(out, name, FieldValue::Tlvs(self.clone()));
    }
}

impl<T: Visit, const MAX: usize> Visit for BoundedVec<T, MAX> {
    fn visit(&self, name: &'static str, out: &mut Vec<Field>) {
        let count = crate::parse::count_field(name);
        // The type bounds the count to 255.
        push(out, count, FieldValue::Int(self.len() as u32));
        let items = self
            .iter()
            .map(|item| {
                let mut fields = Vec::new();
                item.visit(name, &mut fields);
                fields
            })
            .collect();
        push(out, name, FieldValue::List(items));
    }
}

impl Pdu {
    /// The body fields in wire order under their spec names (`sm_length`,
    /// `number_of_dests` and the like included), then `tlvs` if the body has them.
    /// Header-only bodies have none.
    pub fn fields(&self) -> Vec<Field> {
        let mut out = Vec::new();
        self.body.visit_fields(&mut out);
        out
    }
}

impl Body {
    pub(crate) fn visit_fields(&self, out: &mut Vec<Field>) {
        self.visit("body", out);
    }
}
