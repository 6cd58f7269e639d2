//! Internal macros: open wire code spaces as newtypes with spec-named constants.

/// Defines a `Copy` newtype over an integer with one associated constant per named
/// value, `name()` and `description()` lookups, and a Debug that prints the spec name.
macro_rules! wire_newtype {
    (
        $(#[$meta:meta])*
        pub struct $name:ident($ty:ty);
        $( $(#[$cmeta:meta])* $cname:ident = $val:literal, $label:literal, $desc:literal; )*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Default, Eq, Hash, Ord, PartialEq, PartialOrd)]
        pub struct $name(pub $ty);

        impl $name {
            $(
                #[doc = concat!("`", $label, "`: ", $desc, ".")]
                $(#[$cmeta])*
                pub const $cname: Self = Self($val);
            )*

            /// The raw wire value.
            pub const fn value(self) -> $ty {
                self.0
            }

            /// The spec name of this value, or `None` if it has none.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some($label), )*
                    _ => None,
                }
            }

            /// The value with this spec name (as [`name`](Self::name) gives it, ASCII
            /// case ignored), or `None`.
            pub fn from_name(name: &str) -> Option<Self> {
                const NAMED: &[(&str, $ty)] = &[ $( ($label, $val), )* ];
                NAMED.iter().find(|(label, _)| label.eq_ignore_ascii_case(name)).map(|&(_, v)| Self(v))
            }

            /// What this value means, or `None` if it has no spec name.
            pub const fn description(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some($desc), )*
                    _ => None,
                }
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, concat!(stringify!($name), "({:#x})"), self.0),
                }
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            /// The spec name in human-readable formats (JSON, TOML) when the value has
            /// one, else the number.
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self.name() {
                    Some(name) if serializer.is_human_readable() => serializer.serialize_str(name),
                    _ => serde::Serialize::serialize(&self.0, serializer),
                }
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            /// A number, a spec name, or a number in a string (`"0x58"`, `"88"`).
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::serde_impls::named_number::<D, $ty, Self>(deserializer, stringify!($name), Self::from_name)
            }
        }

        impl From<$ty> for $name {
            fn from(raw: $ty) -> Self {
                Self(raw)
            }
        }

        impl From<$name> for $ty {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

pub(crate) use wire_newtype;
