//! The point model: a series name, a start time, tags and fields.
//!
//! Names and text values are [`Text`]: either a `&'static str` (what the macros
//! generate, free to copy) or a shared `Arc<str>` (cloning bumps a counter and never
//! copies bytes). A point built from static names therefore costs no allocation for
//! its names.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Text that is static or shared; cloning never copies the bytes.
#[derive(Clone)]
pub enum Text {
    /// A string known at compile time.
    Static(&'static str),
    /// A string built at run time, shared between clones.
    Shared(Arc<str>),
}

impl Text {
    /// The text as a `&str`.
    #[inline]
    pub fn as_str(&self) -> &str {
        match self {
            Text::Static(s) => s,
            Text::Shared(s) => s,
        }
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}
impl Eq for Text {}
impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}
impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Text {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}
impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}
impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl From<&'static str> for Text {
    #[inline]
    fn from(s: &'static str) -> Self {
        Text::Static(s)
    }
}
impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::Shared(s.into())
    }
}
impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Text::Shared(s.as_str().into())
    }
}
impl From<Box<str>> for Text {
    fn from(s: Box<str>) -> Self {
        Text::Shared(s.into())
    }
}
impl From<Arc<str>> for Text {
    fn from(s: Arc<str>) -> Self {
        Text::Shared(s)
    }
}
impl From<Cow<'static, str>> for Text {
    fn from(s: Cow<'static, str>) -> Self {
        match s {
            Cow::Borrowed(s) => Text::Static(s),
            Cow::Owned(s) => s.into(),
        }
    }
}

/// A tag value. Tags are indexed by the database and always stored as text; numbers
/// and booleans are formatted when the point is encoded.
#[derive(Clone, Debug, PartialEq)]
pub enum TagValue {
    /// Text, stored as is (see the escaping policy in [`crate::line_protocol`]).
    Text(Text),
    /// A signed integer, stored as its decimal text.
    Int(i64),
    /// An unsigned integer, stored as its decimal text.
    UInt(u64),
    /// A float, stored as its shortest round-trip text; NaN and infinities omit the tag.
    Float(f64),
    /// A boolean, stored as `true` or `false`.
    Bool(bool),
}

/// A field value with its line-protocol type.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// A signed 64-bit integer (`1i`).
    Int(i64),
    /// An unsigned 64-bit integer (`1u` on the 2.x API; mapped to `i` on 1.x).
    UInt(u64),
    /// A 64-bit float; NaN and infinities cannot be stored and drop the field.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string (at most 64 KiB are stored; longer text is cut at a character boundary).
    Str(Text),
}

macro_rules! impl_from {
    ($target:ident: $($ty:ty => $variant:ident as $cast:ty),* $(,)?) => {
        $(impl From<$ty> for $target {
            #[inline]
            fn from(v: $ty) -> Self {
                $target::$variant(v as $cast)
            }
        })*
    };
}

impl_from!(TagValue:
    i8 => Int as i64, i16 => Int as i64, i32 => Int as i64, i64 => Int as i64,
    isize => Int as i64, u8 => UInt as u64, u16 => UInt as u64, u32 => UInt as u64,
    u64 => UInt as u64, usize => UInt as u64, f32 => Float as f64, f64 => Float as f64,
);
impl_from!(FieldValue:
    i8 => Int as i64, i16 => Int as i64, i32 => Int as i64, i64 => Int as i64,
    isize => Int as i64, u8 => Int as i64, u16 => Int as i64, u32 => Int as i64,
    u64 => UInt as u64, usize => UInt as u64, f32 => Float as f64, f64 => Float as f64,
);

impl From<bool> for TagValue {
    fn from(v: bool) -> Self {
        TagValue::Bool(v)
    }
}
impl From<bool> for FieldValue {
    fn from(v: bool) -> Self {
        FieldValue::Bool(v)
    }
}
macro_rules! impl_text {
    ($($ty:ty),*) => {$(
        impl From<$ty> for TagValue {
            fn from(v: $ty) -> Self {
                TagValue::Text(v.into())
            }
        }
        impl From<$ty> for FieldValue {
            fn from(v: $ty) -> Self {
                FieldValue::Str(v.into())
            }
        }
    )*};
}
impl_text!(
    &'static str,
    String,
    &String,
    Box<str>,
    Arc<str>,
    Text,
    Cow<'static, str>
);

impl From<Duration> for FieldValue {
    /// A duration is stored as float seconds, like luna-handlers' timing fields.
    fn from(d: Duration) -> Self {
        FieldValue::Float(d.as_secs_f64())
    }
}

/// One point of a series: what becomes one line of line protocol.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub(crate) series: Text,
    pub(crate) timestamp_ns: i64,
    pub(crate) tags: Vec<(Text, TagValue)>,
    pub(crate) fields: Vec<(Text, FieldValue)>,
}

impl Point {
    /// A point of `series` stamped with the current wall-clock time.
    pub fn new(series: impl Into<Text>) -> Self {
        Point::at(series, now_ns())
    }

    /// A point of `series` at `timestamp_ns` nanoseconds since the Unix epoch.
    pub fn at(series: impl Into<Text>, timestamp_ns: i64) -> Self {
        Point {
            series: series.into(),
            timestamp_ns,
            tags: Vec::new(),
            fields: Vec::new(),
        }
    }

    /// Adds a tag (builder style). A later tag with the same key replaces an earlier one.
    pub fn with_tag(mut self, key: impl Into<Text>, value: impl Into<TagValue>) -> Self {
        self.add_tag(key, value);
        self
    }

    /// Adds a field (builder style). A later field with the same key replaces an earlier one.
    pub fn with_field(mut self, key: impl Into<Text>, value: impl Into<FieldValue>) -> Self {
        self.add_field(key, value);
        self
    }

    /// Sets the timestamp in nanoseconds since the Unix epoch (builder style).
    pub fn with_timestamp(mut self, timestamp_ns: i64) -> Self {
        self.timestamp_ns = timestamp_ns;
        self
    }

    /// Adds a tag; a later tag with the same key replaces an earlier one.
    pub fn add_tag(&mut self, key: impl Into<Text>, value: impl Into<TagValue>) {
        let (key, value) = (key.into(), value.into());
        match self.tags.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.tags.push((key, value)),
        }
    }

    /// Adds a field; a later field with the same key replaces an earlier one.
    pub fn add_field(&mut self, key: impl Into<Text>, value: impl Into<FieldValue>) {
        let (key, value) = (key.into(), value.into());
        match self.fields.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((key, value)),
        }
    }

    /// The series (measurement) name.
    pub fn series(&self) -> &str {
        &self.series
    }

    /// Nanoseconds since the Unix epoch.
    pub fn timestamp_ns(&self) -> i64 {
        self.timestamp_ns
    }

    /// The tags in the order they were added.
    pub fn tags(&self) -> &[(Text, TagValue)] {
        &self.tags
    }

    /// The fields in the order they were added.
    pub fn fields(&self) -> &[(Text, FieldValue)] {
        &self.fields
    }

    /// The last value of tag `key`, if any.
    pub fn tag(&self, key: &str) -> Option<&TagValue> {
        self.tags
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The last value of field `key`, if any.
    pub fn field(&self, key: &str) -> Option<&FieldValue> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// Wall-clock nanoseconds since the Unix epoch.
#[doc(hidden)]
pub fn now_ns() -> i64 {
    system_time_ns(SystemTime::now())
}

pub(crate) fn system_time_ns(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}
