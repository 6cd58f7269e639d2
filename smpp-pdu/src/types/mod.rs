//! Typed wire values: strings, addresses, one-octet enumerations and times.

pub(crate) mod address;
pub(crate) mod strings;
pub(crate) mod time;
pub(crate) mod values;
