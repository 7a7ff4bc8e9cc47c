/// A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits.
/// Time-ordered ids keep the events primary key appending to the right edge
/// of its index instead of dirtying random pages, and sort by arrival.
pub fn uuid_v7(unix_millis: u64, random: [u8; 10]) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..6].copy_from_slice(&unix_millis.to_be_bytes()[2..]);
    id[6..].copy_from_slice(&random);
    id[6] = 0x70 | (id[6] & 0x0f);
    id[8] = 0x80 | (id[8] & 0x3f);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_version_variant_and_timestamp() {
        let id = uuid_v7(0x0123_4567_89ab, [0xff; 10]);
        assert_eq!(&id[..6], &[0x01, 0x23, 0x45, 0x67, 0x89, 0xab]);
        assert_eq!(id[6] >> 4, 7);
        assert_eq!(id[8] >> 6, 0b10);
        assert_eq!(&id[9..], &[0xff; 7]);
    }

    #[test]
    fn later_milliseconds_sort_later() {
        assert!(uuid_v7(2, [0; 10]) > uuid_v7(1, [0xff; 10]));
    }
}
