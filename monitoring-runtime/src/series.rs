//! Custom series: [`MonitoringPoint`] (what `#[derive(MonitoringPoint)]` implements) and
//! the conversions of a struct's members into tag values, field values and timestamps.

use std::time::{Duration, SystemTime};

use crate::point::{system_time_ns, FieldValue, Point, TagValue, Text};

/// A custom series. Derive it with `#[derive(MonitoringPoint)]`.
pub trait MonitoringPoint {
    /// The series name.
    const SERIES: &'static str;

    /// This value as a point.
    fn to_point(&self) -> Point;

    /// Records this value into the current monitor.
    fn record(&self) {
        crate::current::record(self.to_point())
    }
}

/// Converts a struct field into a field value; `None` omits the field.
pub trait ToFieldValue {
    /// The value, if any.
    fn to_field_value(&self) -> Option<FieldValue>;
}

/// Converts a struct field into a tag value; `None` omits the tag.
pub trait ToTagValue {
    /// The value, if any.
    fn to_tag_value(&self) -> Option<TagValue>;
}

/// Converts a struct field into a timestamp (ns since the Unix epoch).
pub trait ToTimestamp {
    /// Nanoseconds since the Unix epoch.
    fn to_timestamp_ns(&self) -> i64;
}

macro_rules! copy_values {
    ($($ty:ty),*) => {$(
        impl ToFieldValue for $ty {
            fn to_field_value(&self) -> Option<FieldValue> { Some((*self).into()) }
        }
        impl ToTagValue for $ty {
            fn to_tag_value(&self) -> Option<TagValue> { Some((*self).into()) }
        }
    )*};
}
copy_values!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64, bool);

macro_rules! text_values {
    ($($ty:ty),*) => {$(
        impl ToFieldValue for $ty {
            fn to_field_value(&self) -> Option<FieldValue> {
                Some(FieldValue::Str(Text::from(self.to_string())))
            }
        }
        impl ToTagValue for $ty {
            fn to_tag_value(&self) -> Option<TagValue> {
                Some(TagValue::Text(Text::from(self.to_string())))
            }
        }
    )*};
}
text_values!(String, str);

impl ToFieldValue for Text {
    fn to_field_value(&self) -> Option<FieldValue> {
        Some(FieldValue::Str(self.clone()))
    }
}
impl ToTagValue for Text {
    fn to_tag_value(&self) -> Option<TagValue> {
        Some(TagValue::Text(self.clone()))
    }
}
impl ToFieldValue for Duration {
    fn to_field_value(&self) -> Option<FieldValue> {
        Some(FieldValue::Float(self.as_secs_f64()))
    }
}
impl<T: ToFieldValue + ?Sized> ToFieldValue for &T {
    fn to_field_value(&self) -> Option<FieldValue> {
        (**self).to_field_value()
    }
}
impl<T: ToTagValue + ?Sized> ToTagValue for &T {
    fn to_tag_value(&self) -> Option<TagValue> {
        (**self).to_tag_value()
    }
}
impl<T: ToFieldValue> ToFieldValue for Option<T> {
    fn to_field_value(&self) -> Option<FieldValue> {
        self.as_ref().and_then(T::to_field_value)
    }
}
impl<T: ToTagValue> ToTagValue for Option<T> {
    fn to_tag_value(&self) -> Option<TagValue> {
        self.as_ref().and_then(T::to_tag_value)
    }
}
impl ToTimestamp for SystemTime {
    fn to_timestamp_ns(&self) -> i64 {
        system_time_ns(*self)
    }
}
impl ToTimestamp for i64 {
    fn to_timestamp_ns(&self) -> i64 {
        *self
    }
}
