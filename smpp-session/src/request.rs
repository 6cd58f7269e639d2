//! [`Request`]: the requests an application sends or receives.
//!
//! bind, unbind, enquire_link, outbind and generic_nack are not here: the session runs
//! them itself, so the type keeps an application from sending them.

use smpp_wire::{
    AlertNotification, Body, BroadcastSm, CancelBroadcastSm, CancelSm, CommandId, DataSm, DeliverSm, QueryBroadcastSm,
    QuerySm, ReplaceSm, SubmitMulti, SubmitSm, Tlvs,
};

macro_rules! requests {
    ($( $(#[$m:meta])* $v:ident($t:ty) = $id:ident, )*) => {
        /// An application-level request.
        #[non_exhaustive]
        #[derive(Clone, Debug, Eq, PartialEq)]
        pub enum Request {
            $( $(#[$m])* $v($t), )*
        }

        impl Request {
            /// The command_id.
            pub fn command_id(&self) -> CommandId {
                match self {
                    $( Self::$v(_) => CommandId::$id, )*
                }
            }

            /// Whether `id` is the command_id of one of these requests.
            pub(crate) const fn is_request_id(id: CommandId) -> bool {
                matches!(id, $( CommandId::$id )|*)
            }

            /// The TLVs of the request.
            pub fn tlvs(&self) -> &Tlvs {
                match self {
                    $( Self::$v(b) => &b.tlvs, )*
                }
            }

            /// The PDU body.
            pub fn into_body(self) -> Body {
                match self {
                    $( Self::$v(b) => Body::$v(b), )*
                }
            }

            /// The TLVs of a PDU body that is one of these requests; `None` for any
            /// other body (session-run PDUs, responses).
            pub(crate) fn body_tlvs(body: &Body) -> Option<&Tlvs> {
                match body {
                    $( Body::$v(b) => Some(&b.tlvs), )*
                    _ => None,
                }
            }

            /// The request in a PDU body, if the body is one of these requests.
            pub fn from_body(body: Body) -> Option<Self> {
                match body {
                    $( Body::$v(b) => Some(Self::$v(b)), )*
                    _ => None,
                }
            }
        }
    };
}

requests! {
    /// submit_sm (ESME to SMSC).
    SubmitSm(SubmitSm) = SUBMIT_SM,
    /// deliver_sm (SMSC to ESME).
    DeliverSm(DeliverSm) = DELIVER_SM,
    /// submit_multi (ESME to SMSC).
    SubmitMulti(SubmitMulti) = SUBMIT_MULTI,
    /// data_sm (either direction; v3.4 and later).
    DataSm(DataSm) = DATA_SM,
    /// query_sm (ESME to SMSC).
    QuerySm(QuerySm) = QUERY_SM,
    /// cancel_sm (ESME to SMSC).
    CancelSm(CancelSm) = CANCEL_SM,
    /// replace_sm (ESME to SMSC).
    ReplaceSm(ReplaceSm) = REPLACE_SM,
    /// alert_notification (SMSC to ESME; it has no response).
    AlertNotification(AlertNotification) = ALERT_NOTIFICATION,
    /// broadcast_sm (ESME to SMSC, v5.0).
    BroadcastSm(BroadcastSm) = BROADCAST_SM,
    /// query_broadcast_sm (ESME to SMSC, v5.0).
    QueryBroadcastSm(QueryBroadcastSm) = QUERY_BROADCAST_SM,
    /// cancel_broadcast_sm (ESME to SMSC, v5.0).
    CancelBroadcastSm(CancelBroadcastSm) = CANCEL_BROADCAST_SM,
}
