/// A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits.
/// Time-ordered ids keep the events primary key appending to the right edge
/// of its index instead of dirtying random pages, and sort by arrival. The
/// caller supplies the randomness (PostgreSQL's strong random in the
/// extension), so this stays pure.
pub fn uuid_v7(unix_millis: u64, random: [u8; 10]) -> [u8; 16] {
    uuid::Builder::from_unix_timestamp_millis(unix_millis, &random)
        .into_uuid()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_version_variant_and_timestamp() {
        let millis: u64 = 0x0123_4567_89ab;
        let id = uuid_v7(millis, [0xff; 10]);
        assert_eq!(&id[..6], &[0x01, 0x23, 0x45, 0x67, 0x89, 0xab]);
        assert_eq!(id[6] >> 4, 7);
        assert_eq!(id[8] >> 6, 0b10);
        assert_eq!(&id[9..], &[0xff; 7]);
        let parsed = uuid::Uuid::from_bytes(id);
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(
            parsed.get_timestamp().map(|t| t.to_unix()),
            Some((millis / 1000, (millis % 1000) as u32 * 1_000_000))
        );
    }

    #[test]
    fn later_milliseconds_sort_later() {
        assert!(uuid_v7(2, [0; 10]) > uuid_v7(1, [0xff; 10]));
    }
}
