//! The encoder's tag writers: in the order given when it is already sorted, else
//! sorted by key as written; tag values and escaped or cached text.

use super::{key_less, tag_value_is_empty, Element, Encoder};
use crate::line_protocol::writer::Writer;
use crate::line_protocol::{escape::NAME_SPECIAL, is_reserved};
use crate::point::{Point, TagValue, Text};

impl Encoder {
    /// Writes the tags as they come; false (having written part of them) at the first
    /// one that is invalid or whose key, as written, does not follow the previous one
    /// in strictly ascending order (so the keys are sorted and none repeats).
    #[inline(always)]
    pub(in crate::line_protocol) fn write_tags_in_order(
        &mut self,
        point: &Point,
        w: &mut Writer,
    ) -> bool {
        // Where the previous key is in the line, as written.
        let (mut from, mut to) = (0, 0);
        for (key, value) in &point.tags {
            if tag_value_is_empty(value) {
                return false;
            }
            let start = w.pos + 1;
            if let Some(known) = self.known_static(key) {
                // Both known (route, service): one write for the pair.
                let pair = match value {
                    TagValue::Text(value) => self.known_static(value),
                    _ => None,
                };
                match pair {
                    Some(value) => w.pair(b',', known.as_bytes(), value.as_bytes()),
                    None => {
                        w.sep_text(b',', known.as_bytes());
                        self.write_tag_value(w, value);
                    }
                }
                // A known name is written as it is.
                let end = start + known.len();
                if to != 0 && !key_less(&w.buf[from..to], known.as_bytes()) {
                    return false;
                }
                (from, to) = (start, end);
                continue;
            }
            if key.is_empty() || is_reserved(key) {
                return false;
            }
            w.byte(b',');
            self.write_new_text(w, key, Element::Name);
            let end = w.pos;
            self.write_tag_value(w, value);
            if to != 0 && !key_less(&w.buf[from..to], &w.buf[start..end]) {
                return false;
            }
            (from, to) = (start, end);
        }
        true
    }

    /// Tags that need filtering or ordering: valid ones, sorted by their key as
    /// written (escaped and sanitized), the last of equal written keys winning.
    pub(in crate::line_protocol) fn write_tags_sorted(&mut self, point: &Point, w: &mut Writer) {
        let tags = &point.tags;
        let mut keys = Writer {
            buf: std::mem::take(&mut self.keys),
            pos: 0,
        };
        self.tag_keys.clear();
        for (i, (key, value)) in tags.iter().enumerate() {
            if key.is_empty() || tag_value_is_empty(value) {
                self.issues.tags_omitted += 1;
            } else if is_reserved(key) {
                self.issues.reserved_names += 1;
            } else {
                let start = keys.pos;
                self.write_text(&mut keys, key, Element::Name);
                self.tag_keys.push((i, start, keys.pos));
            }
        }
        let written = |&(_, a, b): &(usize, usize, usize)| &keys.buf[a..b];
        // Stable (insertion order among equal keys, so the last is the newest); an
        // insertion sort, as points have few tags.
        let order = &mut self.tag_keys;
        for n in 1..order.len() {
            let mut m = n;
            while m > 0 && written(&order[n]) < written(&order[m - 1]) {
                m -= 1;
            }
            order[m..=n].rotate_right(1);
        }
        let order = std::mem::take(&mut self.tag_keys);
        for (n, tag) in order.iter().enumerate() {
            if order
                .get(n + 1)
                .is_some_and(|next| written(next) == written(tag))
            {
                // The same key as written again: the later one is written.
                self.issues.duplicates += 1;
                continue;
            }
            w.byte(b',');
            w.text(written(tag));
            self.write_tag_value(w, &tags[tag.0].1);
        }
        self.tag_keys = order;
        self.keys = keys.buf;
    }

    /// Writes `=` and a tag value.
    #[inline(always)]
    pub(in crate::line_protocol) fn write_tag_value(&mut self, w: &mut Writer, value: &TagValue) {
        // Numbers fit the headroom the key's write left.
        match value {
            TagValue::Text(t) => self.write_tag_text(w, t),
            TagValue::Int(i) => w.sep_bytes(b'=', itoa::Buffer::new().format(*i).as_bytes()),
            TagValue::UInt(u) if *u < 1000 => {
                w.byte(b'=');
                w.short_uint(*u as u16);
            }
            TagValue::UInt(u) => w.sep_bytes(b'=', itoa::Buffer::new().format(*u).as_bytes()),
            TagValue::Float(f) => {
                w.sep_bytes(b'=', zmij::Buffer::new().format_finite(*f).as_bytes())
            }
            TagValue::Bool(b) => w.sep_bytes(b'=', if *b { b"true" } else { b"false" }),
        }
    }

    /// Writes `=` and a text tag value.
    #[inline(always)]
    pub(in crate::line_protocol) fn write_tag_text(&mut self, w: &mut Writer, text: &Text) {
        match self.known_static(text) {
            Some(known) => w.sep_text(b'=', known.as_bytes()),
            None => {
                w.byte(b'=');
                self.write_new_text(w, text, Element::Name);
            }
        }
    }

    /// Writes a name or tag value.
    #[inline(always)]
    pub(in crate::line_protocol) fn write_text(
        &mut self,
        w: &mut Writer,
        text: &Text,
        element: Element,
    ) {
        match self.known_static(text) {
            Some(known) => w.text(known.as_bytes()),
            None => self.write_new_text(w, text, element),
        }
    }

    /// Writes text not in the static cache, adding it when it qualifies. In line: most
    /// text is copied as is after a short scan.
    #[inline(always)]
    pub(in crate::line_protocol) fn write_new_text(
        &mut self,
        w: &mut Writer,
        text: &Text,
        element: Element,
    ) {
        let bytes = text.as_bytes();
        let Some(first) = bytes.iter().position(|&b| NAME_SPECIAL[b as usize]) else {
            if let Text::Static(s) = text {
                if !s.is_empty() && !is_reserved(s) {
                    self.remember_static(s);
                }
            }
            return w.text(bytes);
        };
        match text {
            Text::Static(s) => self.write_escaped_static(w, s, first, element),
            Text::Shared(_) => self.write_escaped(w, bytes, first, element),
        }
    }
}
