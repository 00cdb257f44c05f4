//! Typed ids of Jockey's resources: an [`AssetId`] cannot be passed where a [`KnowledgeStoreId`]
//! is wanted, and a model that always carries its id holds one, not an `Option<String>`.
//!
//! Each id is the server's string, unchanged: serde reads and writes it as a plain JSON string,
//! `Display` prints it, and `&str`, `String` and `&Id` all convert into it, so a request takes
//! any of them.
//!
//! ```
//! use rein::jockey::GetAsset;
//! use rein::AssetId;
//!
//! let id: AssetId = serde_json::from_str(r#""6890a1f2""#)?;
//! assert_eq!(id, "6890a1f2");
//! assert_eq!(serde_json::to_string(&id)?, r#""6890a1f2""#);
//! let (by_str, by_string, by_id) =
//!     (GetAsset::new("6890a1f2"), GetAsset::new(String::from("6890a1f2")), GetAsset::new(&id));
//! assert!(by_str == by_string && by_string == by_id);
//! # Ok::<(), serde_json::Error>(())
//! ```

/// Declares an id newtype over `String`: transparent to serde, compared, hashed and ordered as
/// its string, shown (`Display` and `Debug`) as itself, and built from `&str`, `String`,
/// `&String` or `&Self`.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id, as the server wrote it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as a `String`.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        // Debug as the quoted string, so a decoded model reads as the wire did.
        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&self.0, f)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        // Hash, Eq and Ord are the string's, so a map keyed by ids can be searched by `&str`.
        impl ::std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        impl From<&String> for $name {
            fn from(id: &String) -> Self {
                $name(id.clone())
            }
        }

        impl From<&$name> for $name {
            fn from(id: &$name) -> Self {
                id.clone()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

pub(crate) use id_type;

id_type! {
    /// An asset's id (`_id` of an asset; `asset_id` in paths and item bodies).
    AssetId
}

id_type! {
    /// A knowledge store's id (`_id` of a store, prefix `ks_`; `knowledge_store_id` in paths).
    KnowledgeStoreId
}

id_type! {
    /// A knowledge store item's id (`_id` of an item, prefix `ksi_`; `item_id` in paths).
    ItemId
}
