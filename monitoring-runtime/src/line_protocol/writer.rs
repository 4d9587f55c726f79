//! Digits, floats and timestamps written by position into the line being built, with
//! their exhaustive tests: the encoder's performance tricks, each with its proof.

/// Where a line is written: a reused scratch buffer written by position, so that the
/// many short copies of a line need neither capacity checks nor `memcpy` calls; the
/// finished line is appended to the output in one copy.
pub(super) struct Writer {
    pub(super) buf: Vec<u8>,
    pub(super) pos: usize,
}

/// Copies `src` into `dst` (of the same length). Short slices, the common case here,
/// are copied with two overlapping fixed-size moves instead of a `memcpy` call.
#[inline(always)]
pub(super) fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if n >= 16 {
        dst.copy_from_slice(src);
    } else if n >= 8 {
        let (head, tail) = (word::<8>(&src[..8]), word::<8>(&src[n - 8..]));
        dst[..8].copy_from_slice(&head);
        dst[n - 8..].copy_from_slice(&tail);
    } else if n >= 4 {
        let (head, tail) = (word::<4>(&src[..4]), word::<4>(&src[n - 4..]));
        dst[..4].copy_from_slice(&head);
        dst[n - 4..].copy_from_slice(&tail);
    } else if n > 0 {
        // 1 to 3 bytes: first, middle and last (some the same).
        let (first, middle, last) = (src[0], src[n / 2], src[n - 1]);
        dst[0] = first;
        dst[n / 2] = middle;
        dst[n - 1] = last;
    }
}

/// `N` bytes as a value (a register load, never a `memcpy` call).
#[inline(always)]
pub(super) fn word<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&s[..N]);
    out
}

/// `n < 100_000_000` as eight ASCII digits, the first in the lowest byte: the two
/// halves of four digits, each split into two pairs, each pair into two digits, all
/// lanes at once (multiplications by reciprocals, exact in these ranges).
#[inline(always)]
pub(super) fn eight_digits(n: u32) -> u64 {
    let n = u64::from(n);
    let abcd_efgh = (n / 10_000) | ((n % 10_000) << 32);
    let ab_ef = ((abcd_efgh * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let ab_cd_ef_gh = ab_ef | ((abcd_efgh - ab_ef * 100) << 16);
    let a_c_e_g = ((ab_cd_ef_gh * 103) >> 10) & 0x000f_000f_000f_000f;
    let digits = a_c_e_g | ((ab_cd_ef_gh - a_c_e_g * 10) << 8);
    digits | 0x3030_3030_3030_3030
}

/// A finite float field value, ready to write: most are durations in seconds that are
/// exactly a whole number of nanoseconds (`ns as f64 / 1e9`), whose digits come
/// straight from that integer; the others from `zmij`. Both write the same bytes for
/// the same value (see [`Float::new`]).
#[derive(Clone, Copy)]
pub(super) enum Float<'a> {
    /// The value is the double nearest to `n / 10^9`, with `10^4 <= n < 10^15`.
    Nanos(u64),
    /// Formatted by `zmij`.
    Text(&'a str),
}

impl<'a> Float<'a> {
    /// `x` (finite) as `Nanos` when it is the double nearest to a decimal `n / 10^9`
    /// with `n < 10^15` and at least 10^-5 (zmij's fixed notation): decimals of at most
    /// 15 significant digits map to distinct doubles, so that decimal is the only one of
    /// at most 15 digits that rounds to `x`, which makes it `x`'s shortest
    /// representation, the one zmij writes. The candidate `n` is `x * 1e9` rounded;
    /// `n / 1e9` computed in doubles is correctly rounded (`n` and `1e9` are both
    /// exact), so comparing it with `x` proves the condition.
    #[inline(always)]
    pub(super) fn new(x: f64, buffer: &'a mut zmij::Buffer) -> Float<'a> {
        // 2^52: adding it to a non-negative value below 2^52 leaves the nearest integer
        // in the low bits of the mantissa, and subtracting it again gives that integer
        // as an exact double (no float <-> integer conversions on the way).
        const ROUND: f64 = 4_503_599_627_370_496.0;
        if (1e-5..1e6).contains(&x) {
            let rounded = x * 1e9 + ROUND;
            if (rounded - ROUND) / 1e9 == x {
                return Float::Nanos(rounded.to_bits() - ROUND.to_bits());
            }
        }
        Float::Text(buffer.format_finite(x))
    }
}

/// Room reserved before writing any element beyond its own (escaped) length: numbers,
/// separators, the timestamp.
pub(super) const HEADROOM: usize = 64;

impl Writer {
    /// Makes sure `n` more bytes (plus headroom) fit.
    #[inline]
    pub(super) fn ensure(&mut self, n: usize) {
        if self.pos + n + HEADROOM > self.buf.len() {
            self.grow(n);
        }
    }

    #[cold]
    pub(super) fn grow(&mut self, n: usize) {
        let len = (self.pos + n + HEADROOM).next_power_of_two();
        self.buf.resize(len, 0);
    }

    #[inline]
    pub(super) fn byte(&mut self, b: u8) {
        self.buf[self.pos] = b;
        self.pos += 1;
    }

    /// Copies `s` (whose room was ensured). Short slices, the common case here, are
    /// copied with two overlapping fixed-size moves instead of a `memcpy` call.
    #[inline(always)]
    pub(super) fn bytes(&mut self, s: &[u8]) {
        let n = s.len();
        copy_short(&mut self.buf[self.pos..self.pos + n], s);
        self.pos += n;
    }

    /// `sep`, `key`, `=` and `value` with one room check and one position update:
    /// a tag or a field whose name and value are known not to need escaping.
    #[inline(always)]
    pub(super) fn pair(&mut self, sep: u8, key: &[u8], value: &[u8]) {
        let (k, v) = (key.len(), value.len());
        self.ensure(k + v + 2);
        let dst = &mut self.buf[self.pos..self.pos + k + v + 2];
        dst[0] = sep;
        copy_short(&mut dst[1..k + 1], key);
        dst[k + 1] = b'=';
        copy_short(&mut dst[k + 2..], value);
        self.pos += k + v + 2;
    }

    /// `n < 1_000_000_000` as nine zero-padded digits (room ensured): computed in
    /// registers and stored whole. (Copying them out of a formatter's buffer right after
    /// it wrote them byte by byte would stall: the wider loads cannot be forwarded from
    /// the narrower stores still in flight.)
    #[inline(always)]
    pub(super) fn nine_digits(&mut self, n: u32) {
        let dst = &mut self.buf[self.pos..self.pos + 9];
        dst[0] = b'0' + (n / 100_000_000) as u8;
        dst[1..].copy_from_slice(&eight_digits(n % 100_000_000).to_le_bytes());
        self.pos += 9;
    }

    /// A float field value (at most 24 bytes; room ensured).
    #[inline(always)]
    pub(super) fn float(&mut self, value: Float<'_>) {
        match value {
            Float::Text(text) => self.bytes(text.as_bytes()),
            Float::Nanos(n) => self.nanos_as_seconds(n),
        }
    }

    /// `n / 10^9` (`n < 10^15`) as zmij writes the double nearest to it: the whole
    /// seconds, `.`, and the nine fractional digits without trailing zeros (one kept).
    #[inline(always)]
    pub(super) fn nanos_as_seconds(&mut self, n: u64) {
        let (whole, fraction) = (n / 1_000_000_000, (n % 1_000_000_000) as u32);
        if whole < 10 {
            self.byte(b'0' + whole as u8);
        } else {
            self.bytes(itoa::Buffer::new().format(whole).as_bytes());
        }
        // As `nine_digits` after a `.`, in one write (sharing it costs ~4 instructions
        // per float) and keeping the digits' word for the trailing zeros.
        let last_eight = eight_digits(fraction % 100_000_000);
        let dst = &mut self.buf[self.pos..self.pos + 10];
        dst[0] = b'.';
        dst[1] = b'0' + (fraction / 100_000_000) as u8;
        dst[2..].copy_from_slice(&last_eight.to_le_bytes());
        // The last digit is in the highest byte: zero digits are zero bytes after the
        // xor, and at most eight of them go (the first fractional digit stays).
        let trailing_zeros = (last_eight ^ 0x3030_3030_3030_3030).leading_zeros() / 8;
        self.pos += 10 - trailing_zeros as usize;
    }

    /// `sep`, `key`, `=` and a float value with one room check.
    #[inline(always)]
    pub(super) fn float_pair(&mut self, sep: u8, key: &[u8], value: Float<'_>) {
        let k = key.len();
        self.ensure(k + 2);
        let dst = &mut self.buf[self.pos..self.pos + k + 2];
        dst[0] = sep;
        copy_short(&mut dst[1..k + 1], key);
        dst[k + 1] = b'=';
        self.pos += k + 2;
        self.float(value);
    }

    /// `n < 1000` (status codes) without a formatter (room ensured).
    #[inline(always)]
    pub(super) fn short_uint(&mut self, n: u16) {
        let digits = [
            b'0' + (n / 100) as u8,
            b'0' + (n / 10 % 10) as u8,
            b'0' + (n % 10) as u8,
        ];
        let skip = usize::from(n < 100) + usize::from(n < 10);
        self.bytes(&digits[skip..]);
    }

    /// Copies `s` after making room for it.
    #[inline]
    pub(super) fn text(&mut self, s: &[u8]) {
        self.ensure(s.len());
        self.bytes(s);
    }

    /// A separator and `s` (whose room was ensured), with one bounds check.
    #[inline(always)]
    pub(super) fn sep_bytes(&mut self, sep: u8, s: &[u8]) {
        self.buf[self.pos] = sep;
        self.pos += 1;
        self.bytes(s);
    }

    /// A separator and `s`, after making room for them.
    #[inline(always)]
    pub(super) fn sep_text(&mut self, sep: u8, s: &[u8]) {
        self.ensure(s.len() + 1);
        self.sep_bytes(sep, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_digits_match_std_formatting() {
        // Every value near each power of ten and digit boundary, plus a stride over the
        // whole range.
        let mut values: Vec<u32> = (0..100_000_000).step_by(7_919).collect();
        for p in 0..8 {
            let b = 10u32.pow(p);
            values.extend([b - 1, b, b + 1, b * 9, b * 9 + b - 1]);
        }
        values.extend([99_999_999, 12_345_678, 90_909_090]);
        for n in values {
            let got = eight_digits(n).to_le_bytes();
            assert_eq!(std::str::from_utf8(&got).unwrap(), format!("{n:08}"), "{n}");
        }
    }

    /// What the encoder writes for a float value, and what zmij writes for it.
    fn float_text(x: f64) -> (String, String) {
        let mut w = Writer {
            buf: vec![0; 128],
            pos: 0,
        };
        w.float(Float::new(x, &mut zmij::Buffer::new()));
        let ours = String::from_utf8(w.buf[..w.pos].to_vec()).unwrap();
        (ours, zmij::Buffer::new().format_finite(x).to_owned())
    }

    #[test]
    fn floats_from_whole_nanoseconds_match_zmij() {
        // Every n from the smallest on the fast path, then a stride over the whole range
        // up to 10^15 ns, powers of ten and their neighbours, and each of these values'
        // neighbouring doubles (which mostly leave the fast path).
        let mut nanos: Vec<u64> = (9_990..60_000).collect();
        nanos.extend((0..1_000_000_000_000_000).step_by(99_991_234_567));
        nanos.extend(
            (0..200_000)
                .map(|i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 1_000_000_000_000_000),
        );
        for p in 4..=15 {
            let b = 10u64.pow(p);
            nanos.extend([b - 1, b, b + 1, b * 5, 12 * b / 10]);
        }
        let (mut fast, mut checked) = (0, 0);
        for n in nanos {
            let x = n as f64 / 1e9;
            for x in [x, x.next_up(), x.next_down(), -x] {
                if matches!(Float::new(x, &mut zmij::Buffer::new()), Float::Nanos(_)) {
                    fast += 1;
                }
                let (ours, zmij) = float_text(x);
                assert_eq!(ours, zmij, "{x:e} from {n} ns");
                checked += 1;
            }
        }
        // Durations from whole nanoseconds take the fast path (most of the values
        // above); the rest were checked too.
        assert!(fast > checked / 5, "{fast} of {checked}");
        for x in [
            0.0,
            -0.0,
            1e-5,
            9.999_999e-6,
            1e6,
            999_999.999_999_999,
            0.25,
            12.0,
            1e300,
            5e-324,
        ] {
            let (ours, zmij) = float_text(x);
            assert_eq!(ours, zmij, "{x:e}");
        }
    }
}
