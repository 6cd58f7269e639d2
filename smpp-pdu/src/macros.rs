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
