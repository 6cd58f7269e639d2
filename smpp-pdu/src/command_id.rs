//! `command_id`: which operation a PDU carries.

use crate::macros::wire_newtype;

wire_newtype! {
    /// The `command_id` header field. Bit 31 marks a response.
    ///
    /// A [`Pdu`](crate::Pdu)'s id is derived from its body; this type is for headers,
    /// errors and logs. Unknown ids stay representable.
    pub struct CommandId(u32);
    GENERIC_NACK = 0x8000_0000, "generic_nack", "negative acknowledgement of an unreadable or unknown PDU";
    BIND_RECEIVER = 0x0000_0001, "bind_receiver", "bind as a receiver (MC to ESME traffic)";
    BIND_RECEIVER_RESP = 0x8000_0001, "bind_receiver_resp", "response to bind_receiver";
    BIND_TRANSMITTER = 0x0000_0002, "bind_transmitter", "bind as a transmitter (ESME to MC traffic)";
    BIND_TRANSMITTER_RESP = 0x8000_0002, "bind_transmitter_resp", "response to bind_transmitter";
    QUERY_SM = 0x0000_0003, "query_sm", "query the state of a submitted message";
    QUERY_SM_RESP = 0x8000_0003, "query_sm_resp", "response to query_sm";
    SUBMIT_SM = 0x0000_0004, "submit_sm", "submit a short message";
    SUBMIT_SM_RESP = 0x8000_0004, "submit_sm_resp", "response to submit_sm";
    DELIVER_SM = 0x0000_0005, "deliver_sm", "deliver a short message or receipt to the ESME";
    DELIVER_SM_RESP = 0x8000_0005, "deliver_sm_resp", "response to deliver_sm";
    UNBIND = 0x0000_0006, "unbind", "end the session";
    UNBIND_RESP = 0x8000_0006, "unbind_resp", "response to unbind";
    REPLACE_SM = 0x0000_0007, "replace_sm", "replace a submitted message";
    REPLACE_SM_RESP = 0x8000_0007, "replace_sm_resp", "response to replace_sm";
    CANCEL_SM = 0x0000_0008, "cancel_sm", "cancel a submitted message";
    CANCEL_SM_RESP = 0x8000_0008, "cancel_sm_resp", "response to cancel_sm";
    BIND_TRANSCEIVER = 0x0000_0009, "bind_transceiver", "bind as a transceiver (both directions)";
    BIND_TRANSCEIVER_RESP = 0x8000_0009, "bind_transceiver_resp", "response to bind_transceiver";
    OUTBIND = 0x0000_000B, "outbind", "MC asks the ESME to bind";
    ENQUIRE_LINK = 0x0000_0015, "enquire_link", "link keep-alive";
    ENQUIRE_LINK_RESP = 0x8000_0015, "enquire_link_resp", "response to enquire_link";
    SUBMIT_MULTI = 0x0000_0021, "submit_multi", "submit a message to several destinations";
    SUBMIT_MULTI_RESP = 0x8000_0021, "submit_multi_resp", "response to submit_multi";
    PARAM_RETRIEVE = 0x0000_0022, "param_retrieve", "v3.3: read an MC parameter";
    PARAM_RETRIEVE_RESP = 0x8000_0022, "param_retrieve_resp", "v3.3: response to param_retrieve";
    QUERY_LAST_MSGS = 0x0000_0023, "query_last_msgs", "v3.3: list the last messages sent";
    QUERY_LAST_MSGS_RESP = 0x8000_0023, "query_last_msgs_resp", "v3.3: response to query_last_msgs";
    QUERY_MSG_DETAILS = 0x0000_0024, "query_msg_details", "v3.3: details of one message";
    QUERY_MSG_DETAILS_RESP = 0x8000_0024, "query_msg_details_resp", "v3.3: response to query_msg_details";
    ALERT_NOTIFICATION = 0x0000_0102, "alert_notification", "MC tells the ESME a mobile is reachable";
    DATA_SM = 0x0000_0103, "data_sm", "transfer data (either direction)";
    DATA_SM_RESP = 0x8000_0103, "data_sm_resp", "response to data_sm";
    BROADCAST_SM = 0x0000_0111, "broadcast_sm", "v5.0: submit a cell broadcast";
    BROADCAST_SM_RESP = 0x8000_0111, "broadcast_sm_resp", "v5.0: response to broadcast_sm";
    QUERY_BROADCAST_SM = 0x0000_0112, "query_broadcast_sm", "v5.0: query a cell broadcast";
    QUERY_BROADCAST_SM_RESP = 0x8000_0112, "query_broadcast_sm_resp", "v5.0: response to query_broadcast_sm";
    CANCEL_BROADCAST_SM = 0x0000_0113, "cancel_broadcast_sm", "v5.0: cancel a cell broadcast";
    CANCEL_BROADCAST_SM_RESP = 0x8000_0113, "cancel_broadcast_sm_resp", "v5.0: response to cancel_broadcast_sm";
}

impl CommandId {
    /// Whether bit 31 is set (a response, `generic_nack` included).
    pub const fn is_response(self) -> bool {
        self.0 & 0x8000_0000 != 0
    }

    /// The id of the response to this request (sets bit 31).
    pub const fn response(self) -> Self {
        Self(self.0 | 0x8000_0000)
    }

    /// Whether this id names a request that has a response PDU.
    ///
    /// False for responses, `outbind`, `alert_notification` and unknown ids.
    pub const fn has_response(self) -> bool {
        !self.is_response()
            && self.name().is_some()
            && self.0 != Self::OUTBIND.0
            && self.0 != Self::ALERT_NOTIFICATION.0
    }
}

impl core::fmt::Display for CommandId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "command_id {:#010x}", self.0),
        }
    }
}
