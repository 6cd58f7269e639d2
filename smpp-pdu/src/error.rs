//! Errors: [`DecodeError`] for bytes from a peer, [`FieldError`] for values built locally.

use crate::{CommandId, CommandStatus, TlvTag};

/// Why a PDU could not be decoded. Each error names the field (spec name) and the
/// offset in the PDU where decoding stopped, and maps to the `command_status` the peer
/// should be answered with ([`command_status`](Self::command_status)).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The frame is shorter than the 16-octet header.
    #[error("PDU of {len} octets is shorter than the 16-octet header")]
    ShortHeader {
        /// Octets available.
        len: usize,
    },
    /// `command_length` does not match the frame given to the decoder.
    #[error("command_length {command_length} does not match the {actual} octets of the frame")]
    LengthMismatch {
        /// `command_length` from the header.
        command_length: u32,
        /// Octets in the frame.
        actual: usize,
    },
    /// The `command_id` is not one this codec knows.
    #[error("unknown {command_id}")]
    UnknownCommand {
        /// The id read from the header.
        command_id: CommandId,
    },
    /// The PDU ended inside a field.
    #[error("PDU ends inside field `{field}` at offset {offset}")]
    Truncated {
        /// Spec name of the field.
        field: &'static str,
        /// Offset in the PDU.
        offset: usize,
    },
    /// A C-octet string has no NUL before the PDU ends.
    #[error("field `{field}` at offset {offset} has no NUL terminator")]
    MissingNul {
        /// Spec name of the field.
        field: &'static str,
        /// Offset in the PDU.
        offset: usize,
    },
    /// A field is longer than its maximum.
    #[error("field `{field}` at offset {offset} is longer than its maximum of {max} octets")]
    TooLong {
        /// Spec name of the field.
        field: &'static str,
        /// The maximum, NUL included for C-octet strings.
        max: usize,
        /// Offset in the PDU.
        offset: usize,
    },
    /// A field holds a value the spec does not allow.
    #[error("field `{field}` at offset {offset} has an invalid value")]
    InvalidValue {
        /// Spec name of the field.
        field: &'static str,
        /// Offset in the PDU.
        offset: usize,
    },
    /// The TLV area is broken: a partial TLV header or a length past the PDU end.
    #[error("malformed TLV stream at offset {offset}")]
    TlvStream {
        /// Offset in the PDU.
        offset: usize,
    },
    /// A known TLV has a length its type does not allow.
    #[error("TLV {tag:?} at offset {offset} has invalid length {len}")]
    TlvLength {
        /// The TLV tag.
        tag: TlvTag,
        /// The length read.
        len: u16,
        /// Offset in the PDU.
        offset: usize,
    },
    /// A known TLV has a value its type does not allow.
    #[error("TLV {tag:?} at offset {offset} has an invalid value")]
    TlvValue {
        /// The TLV tag.
        tag: TlvTag,
        /// Offset in the PDU.
        offset: usize,
    },
    /// More TLVs than [`MAX_TLVS`](crate::MAX_TLVS).
    #[error("more than {max} TLVs in one PDU")]
    TooManyTlvs {
        /// The bound.
        max: usize,
    },
    /// Octets left over after a body that cannot carry TLVs (a header-only request or a
    /// v3.3-only PDU).
    #[error("{len} unexpected octets at offset {offset}")]
    TrailingBytes {
        /// How many octets.
        len: usize,
        /// Offset in the PDU.
        offset: usize,
    },
}

impl DecodeError {
    /// The `command_status` to answer the peer with (reference section 5.4).
    ///
    /// ```
    /// use smpp_wire::{CommandStatus, DecodeError};
    /// let e = DecodeError::MissingNul { field: "source_addr", offset: 20 };
    /// assert_eq!(e.command_status(), CommandStatus::ESME_RINVCMDLEN);
    /// let e = DecodeError::TooLong { field: "password", max: 9, offset: 26 };
    /// assert_eq!(e.command_status(), CommandStatus::ESME_RINVPASWD);
    /// ```
    pub fn command_status(&self) -> CommandStatus {
        match *self {
            Self::ShortHeader { .. } | Self::LengthMismatch { .. } | Self::TrailingBytes { .. } => {
                CommandStatus::ESME_RINVCMDLEN
            }
            Self::UnknownCommand { .. } => CommandStatus::ESME_RINVCMDID,
            Self::Truncated { field: "short_message", .. } => CommandStatus::ESME_RINVMSGLEN,
            Self::Truncated { .. } | Self::MissingNul { .. } => CommandStatus::ESME_RINVCMDLEN,
            Self::TooLong { field, .. } | Self::InvalidValue { field, .. } => field_status(field),
            Self::TlvStream { .. } | Self::TooManyTlvs { .. } => CommandStatus::ESME_RINVOPTPARSTREAM,
            Self::TlvLength { .. } => CommandStatus::ESME_RINVPARLEN,
            Self::TlvValue { .. } => CommandStatus::ESME_RINVOPTPARAMVAL,
        }
    }

    /// The spec name of the field decoding stopped at, if the error concerns one.
    pub fn field(&self) -> Option<&'static str> {
        match *self {
            Self::Truncated { field, .. }
            | Self::MissingNul { field, .. }
            | Self::TooLong { field, .. }
            | Self::InvalidValue { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The offset in the PDU where decoding stopped, if known.
    pub fn offset(&self) -> Option<usize> {
        match *self {
            Self::Truncated { offset, .. }
            | Self::MissingNul { offset, .. }
            | Self::TooLong { offset, .. }
            | Self::InvalidValue { offset, .. }
            | Self::TlvStream { offset }
            | Self::TlvLength { offset, .. }
            | Self::TlvValue { offset, .. }
            | Self::TrailingBytes { offset, .. } => Some(offset),
            _ => None,
        }
    }
}

/// The status for a field that is too long or holds a bad value.
fn field_status(field: &str) -> CommandStatus {
    match field {
        "system_id" => CommandStatus::ESME_RINVSYSID,
        "password" => CommandStatus::ESME_RINVPASWD,
        "system_type" => CommandStatus::ESME_RINVSYSTYP,
        "service_type" => CommandStatus::ESME_RINVSERTYP,
        "source_addr" | "esme_addr" => CommandStatus::ESME_RINVSRCADR,
        "destination_addr" => CommandStatus::ESME_RINVDSTADR,
        "message_id" => CommandStatus::ESME_RINVMSGID,
        "schedule_delivery_time" => CommandStatus::ESME_RINVSCHED,
        "validity_period" => CommandStatus::ESME_RINVEXPIRY,
        "sm_length" | "short_message" => CommandStatus::ESME_RINVMSGLEN,
        "number_of_dests" => CommandStatus::ESME_RINVNUMDESTS,
        "dest_flag" => CommandStatus::ESME_RINVDESTFLAG,
        "dl_name" => CommandStatus::ESME_RINVDLNAME,
        _ => CommandStatus::ESME_RINVCMDLEN,
    }
}

/// Why a field value could not be built.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
pub enum FieldError {
    /// The value is longer than the field allows.
    #[error("value of {len} octets is longer than the maximum of {max}")]
    TooLong {
        /// The maximum (characters for C-octet strings, NUL excluded).
        max: usize,
        /// The length given.
        len: usize,
    },
    /// A C-octet string value contains a NUL.
    #[error("value contains a NUL octet")]
    InteriorNul,
    /// A list has more items than its count field allows.
    #[error("{len} items is more than the maximum of {max}")]
    TooMany {
        /// The maximum.
        max: usize,
        /// The count given.
        len: usize,
    },
    /// A time is not a valid `YYMMDDhhmmsstnnp` value.
    #[error("not a valid SMPP time (YYMMDDhhmmsstnnp)")]
    InvalidTime,
}
