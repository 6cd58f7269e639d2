//! `command_status`: every named code of v3.4 and v5.0, open for unknown values.

use crate::macros::wire_newtype;

wire_newtype! {
    /// The `command_status` header field: `ESME_ROK` or an error code.
    ///
    /// Debug prints the spec name; Display prints the name, the value and the meaning,
    /// e.g. `ESME_RINVPASWD (0x0E): invalid password`. Unknown codes (vendor codes
    /// 0x400–0x4FF among them) stay representable.
    ///
    /// ```
    /// use smpp_wire::CommandStatus;
    /// assert_eq!(CommandStatus::ESME_RINVPASWD.to_string(), "ESME_RINVPASWD (0x0E): invalid password");
    /// assert_eq!(format!("{:?}", CommandStatus(0x58)), "ESME_RTHROTTLED");
    /// assert_eq!(CommandStatus(0x401).to_string(), "0x401: vendor-specific error");
    /// ```
    pub struct CommandStatus(u32);
    ESME_ROK = 0x00, "ESME_ROK", "success";
    ESME_RINVMSGLEN = 0x01, "ESME_RINVMSGLEN", "message length invalid";
    ESME_RINVCMDLEN = 0x02, "ESME_RINVCMDLEN", "command length invalid";
    ESME_RINVCMDID = 0x03, "ESME_RINVCMDID", "invalid command id";
    ESME_RINVBNDSTS = 0x04, "ESME_RINVBNDSTS", "incorrect bind status for the command";
    ESME_RALYBND = 0x05, "ESME_RALYBND", "already bound";
    ESME_RINVPRTFLG = 0x06, "ESME_RINVPRTFLG", "invalid priority flag";
    ESME_RINVREGDLVFLG = 0x07, "ESME_RINVREGDLVFLG", "invalid registered delivery flag";
    ESME_RSYSERR = 0x08, "ESME_RSYSERR", "system error";
    ESME_RINVSRCADR = 0x0A, "ESME_RINVSRCADR", "invalid source address";
    ESME_RINVDSTADR = 0x0B, "ESME_RINVDSTADR", "invalid destination address";
    ESME_RINVMSGID = 0x0C, "ESME_RINVMSGID", "invalid message id";
    ESME_RBINDFAIL = 0x0D, "ESME_RBINDFAIL", "bind failed";
    ESME_RINVPASWD = 0x0E, "ESME_RINVPASWD", "invalid password";
    ESME_RINVSYSID = 0x0F, "ESME_RINVSYSID", "invalid system id";
    ESME_RCANCELFAIL = 0x11, "ESME_RCANCELFAIL", "cancel_sm failed";
    ESME_RREPLACEFAIL = 0x13, "ESME_RREPLACEFAIL", "replace_sm failed";
    ESME_RMSGQFUL = 0x14, "ESME_RMSGQFUL", "message queue full";
    ESME_RINVSERTYP = 0x15, "ESME_RINVSERTYP", "invalid service type";
    ESME_RINVNUMDESTS = 0x33, "ESME_RINVNUMDESTS", "invalid number of destinations";
    ESME_RINVDLNAME = 0x34, "ESME_RINVDLNAME", "invalid distribution list name";
    ESME_RINVDESTFLAG = 0x40, "ESME_RINVDESTFLAG", "invalid destination flag";
    ESME_RINVSUBREP = 0x42, "ESME_RINVSUBREP", "invalid submit with replace request";
    ESME_RINVESMCLASS = 0x43, "ESME_RINVESMCLASS", "invalid esm_class field data";
    ESME_RCNTSUBDL = 0x44, "ESME_RCNTSUBDL", "cannot submit to distribution list";
    ESME_RSUBMITFAIL = 0x45, "ESME_RSUBMITFAIL", "submit failed";
    ESME_RINVSRCTON = 0x48, "ESME_RINVSRCTON", "invalid source address TON";
    ESME_RINVSRCNPI = 0x49, "ESME_RINVSRCNPI", "invalid source address NPI";
    ESME_RINVDSTTON = 0x50, "ESME_RINVDSTTON", "invalid destination address TON";
    ESME_RINVDSTNPI = 0x51, "ESME_RINVDSTNPI", "invalid destination address NPI";
    ESME_RINVSYSTYP = 0x53, "ESME_RINVSYSTYP", "invalid system_type field";
    ESME_RINVREPFLAG = 0x54, "ESME_RINVREPFLAG", "invalid replace_if_present flag";
    ESME_RINVNUMMSGS = 0x55, "ESME_RINVNUMMSGS", "invalid number of messages";
    ESME_RTHROTTLED = 0x58, "ESME_RTHROTTLED", "throttling error: the ESME exceeded the allowed message rate";
    ESME_RINVSCHED = 0x61, "ESME_RINVSCHED", "invalid scheduled delivery time";
    ESME_RINVEXPIRY = 0x62, "ESME_RINVEXPIRY", "invalid message validity period (expiry time)";
    ESME_RINVDFTMSGID = 0x63, "ESME_RINVDFTMSGID", "predefined message invalid or not found";
    ESME_RX_T_APPN = 0x64, "ESME_RX_T_APPN", "ESME receiver temporary app error code";
    ESME_RX_P_APPN = 0x65, "ESME_RX_P_APPN", "ESME receiver permanent app error code";
    ESME_RX_R_APPN = 0x66, "ESME_RX_R_APPN", "ESME receiver reject message error code";
    ESME_RQUERYFAIL = 0x67, "ESME_RQUERYFAIL", "query_sm request failed";
    ESME_RINVOPTPARSTREAM = 0xC0, "ESME_RINVOPTPARSTREAM", "error in the optional part of the PDU body";
    ESME_ROPTPARNOTALLWD = 0xC1, "ESME_ROPTPARNOTALLWD", "optional parameter not allowed";
    ESME_RINVPARLEN = 0xC2, "ESME_RINVPARLEN", "invalid parameter length";
    ESME_RMISSINGOPTPARAM = 0xC3, "ESME_RMISSINGOPTPARAM", "expected optional parameter missing";
    ESME_RINVOPTPARAMVAL = 0xC4, "ESME_RINVOPTPARAMVAL", "invalid optional parameter value";
    ESME_RDELIVERYFAILURE = 0xFE, "ESME_RDELIVERYFAILURE", "delivery failure (used for data_sm_resp)";
    ESME_RUNKNOWNERR = 0xFF, "ESME_RUNKNOWNERR", "unknown error";
    ESME_RSERTYPUNAUTH = 0x100, "ESME_RSERTYPUNAUTH", "ESME not authorised to use the specified service_type";
    ESME_RPROHIBITED = 0x101, "ESME_RPROHIBITED", "ESME prohibited from using the specified operation";
    ESME_RSERTYPUNAVAIL = 0x102, "ESME_RSERTYPUNAVAIL", "specified service_type is unavailable";
    ESME_RSERTYPDENIED = 0x103, "ESME_RSERTYPDENIED", "specified service_type is denied";
    ESME_RINVDCS = 0x104, "ESME_RINVDCS", "invalid data coding scheme";
    ESME_RINVSRCADDRSUBUNIT = 0x105, "ESME_RINVSRCADDRSUBUNIT", "source address subunit is invalid";
    ESME_RINVDSTADDRSUBUNIT = 0x106, "ESME_RINVDSTADDRSUBUNIT", "destination address subunit is invalid";
    ESME_RINVBCASTFREQINT = 0x107, "ESME_RINVBCASTFREQINT", "broadcast frequency interval is invalid";
    ESME_RINVBCASTALIAS_NAME = 0x108, "ESME_RINVBCASTALIAS_NAME", "broadcast alias name is invalid";
    ESME_RINVBCASTAREAFMT = 0x109, "ESME_RINVBCASTAREAFMT", "broadcast area format is invalid";
    ESME_RINVNUMBCAST_AREAS = 0x10A, "ESME_RINVNUMBCAST_AREAS", "number of broadcast areas is invalid";
    ESME_RINVBCASTCNTTYPE = 0x10B, "ESME_RINVBCASTCNTTYPE", "broadcast content type is invalid";
    ESME_RINVBCASTMSGCLASS = 0x10C, "ESME_RINVBCASTMSGCLASS", "broadcast message class is invalid";
    ESME_RBCASTFAIL = 0x10D, "ESME_RBCASTFAIL", "broadcast_sm operation failed";
    ESME_RBCASTQUERYFAIL = 0x10E, "ESME_RBCASTQUERYFAIL", "query_broadcast_sm operation failed";
    ESME_RBCASTCANCELFAIL = 0x10F, "ESME_RBCASTCANCELFAIL", "cancel_broadcast_sm operation failed";
    ESME_RINVBCAST_REP = 0x110, "ESME_RINVBCAST_REP", "number of repeated broadcasts is invalid";
    ESME_RINVBCASTSRVGRP = 0x111, "ESME_RINVBCASTSRVGRP", "broadcast service group is invalid";
    ESME_RINVBCASTCHANIND = 0x112, "ESME_RINVBCASTCHANIND", "broadcast channel indicator is invalid";
}

impl CommandStatus {
    /// v5.0 name of [`ESME_RINVOPTPARSTREAM`](Self::ESME_RINVOPTPARSTREAM) (0xC0).
    pub const ESME_RINVTLVSTREAM: Self = Self::ESME_RINVOPTPARSTREAM;
    /// v5.0 name of [`ESME_ROPTPARNOTALLWD`](Self::ESME_ROPTPARNOTALLWD) (0xC1).
    pub const ESME_RTLVNOTALLWD: Self = Self::ESME_ROPTPARNOTALLWD;
    /// v5.0 name of [`ESME_RINVPARLEN`](Self::ESME_RINVPARLEN) (0xC2).
    pub const ESME_RINVTLVLEN: Self = Self::ESME_RINVPARLEN;
    /// v5.0 name of [`ESME_RMISSINGOPTPARAM`](Self::ESME_RMISSINGOPTPARAM) (0xC3).
    pub const ESME_RMISSINGTLV: Self = Self::ESME_RMISSINGOPTPARAM;
    /// v5.0 name of [`ESME_RINVOPTPARAMVAL`](Self::ESME_RINVOPTPARAMVAL) (0xC4).
    pub const ESME_RINVTLVVAL: Self = Self::ESME_RINVOPTPARAMVAL;

    /// Whether this is `ESME_ROK`.
    pub const fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// Whether this is anything but `ESME_ROK`.
    pub const fn is_error(self) -> bool {
        self.0 != 0
    }

    /// Whether the code is in the MC-vendor range 0x400–0x4FF.
    pub const fn is_vendor_specific(self) -> bool {
        matches!(self.0, 0x400..=0x4FF)
    }

    /// The v5.0 name where v5.0 renamed the code (0xC0–0xC4), else the v3.4 name.
    pub const fn v5_name(self) -> Option<&'static str> {
        match self.0 {
            0xC0 => Some("ESME_RINVTLVSTREAM"),
            0xC1 => Some("ESME_RTLVNOTALLWD"),
            0xC2 => Some("ESME_RINVTLVLEN"),
            0xC3 => Some("ESME_RMISSINGTLV"),
            0xC4 => Some("ESME_RINVTLVVAL"),
            _ => self.name(),
        }
    }
}

impl core::fmt::Display for CommandStatus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match (self.name(), self.description()) {
            (Some(name), Some(desc)) => write!(f, "{name} ({:#04X}): {desc}", self.0),
            _ if self.is_vendor_specific() => write!(f, "{:#04X}: vendor-specific error", self.0),
            _ => write!(f, "{:#04X}: unknown or reserved status", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CommandStatus;

    #[test]
    fn display_uses_lowercase_0x_prefix() {
        assert_eq!(
            CommandStatus::ESME_RTHROTTLED.to_string(),
            "ESME_RTHROTTLED (0x58): throttling error: the ESME exceeded the allowed message rate"
        );
        assert_eq!(CommandStatus(0x09).to_string(), "0x09: unknown or reserved status");
        assert_eq!(CommandStatus::ESME_RINVTLVSTREAM.v5_name(), Some("ESME_RINVTLVSTREAM"));
        assert_eq!(CommandStatus::ESME_RINVTLVSTREAM.name(), Some("ESME_RINVOPTPARSTREAM"));
    }
}
