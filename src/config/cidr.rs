//! IP networks in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`, or a bare address for one
//! host), for the `[security] trusted_proxies` list. `ipnet` does the masking, containment
//! and printing; this type adds what an operator's list needs on top: a bare address means
//! one host, a prefix with host bits set is refused (not silently masked), and IPv4-mapped
//! IPv6 peers match IPv4 networks.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// An IPv4 or IPv6 network: an address whose bits past its prefix are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr(IpNet);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCidr {
    #[error("`{0}` is not an IP address or network (expected e.g. 10.0.0.0/8 or 2001:db8::/32)")]
    Syntax(String),
    #[error("prefix length /{prefix} is too long for {family} (at most /{max})")]
    PrefixTooLong {
        prefix: String,
        family: &'static str,
        max: u8,
    },
    /// Refused rather than masked: `10.0.0.1/8` is more likely a typo than a wish to trust
    /// the whole /8.
    #[error("`{given}` has bits set past the prefix; the network is {network}")]
    HostBitsSet { given: String, network: String },
}

impl Cidr {
    /// Whether `ip` is in this network. An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`)
    /// counts as the IPv4 address it carries, as a dual-stack socket reports IPv4 peers.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

impl FromStr for Cidr {
    type Err = InvalidCidr;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || InvalidCidr::Syntax(s.to_owned());
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| syntax())?;
        let net = match prefix {
            None => IpNet::from(addr),
            // Digits only: `u8::from_str` would also take a leading `+`.
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                let too_long = || {
                    let (family, max) = match addr {
                        IpAddr::V4(_) => ("IPv4", 32),
                        IpAddr::V6(_) => ("IPv6", 128),
                    };
                    InvalidCidr::PrefixTooLong {
                        prefix: p.to_owned(),
                        family,
                        max,
                    }
                };
                let len = p.parse::<u8>().map_err(|_| too_long())?;
                IpNet::new(addr, len).map_err(|_| too_long())?
            }
            Some(_) => return Err(syntax()),
        };
        if net.trunc() != net {
            return Err(InvalidCidr::HostBitsSet {
                given: s.to_owned(),
                network: net.trunc().to_string(),
            });
        }
        Ok(Cidr(net))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let net = cidr("10.0.0.0/8");
        assert!(net.contains(ip("10.0.0.0")));
        assert!(net.contains(ip("10.255.255.255")));
        assert!(!net.contains(ip("11.0.0.0")));
        assert!(!net.contains(ip("9.255.255.255")));
        assert!(net.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped IPv6");
        assert!(
            !net.contains(ip("::a01:203")),
            "IPv4-compatible is not mapped"
        );

        let host = cidr("127.0.0.1");
        assert_eq!(host.to_string(), "127.0.0.1/32");
        assert!(host.contains(ip("127.0.0.1")));
        assert!(!host.contains(ip("127.0.0.2")));

        let v6 = cidr("2001:db8::/32");
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("32.1.13.184")), "no cross-family match");

        let all = cidr("0.0.0.0/0");
        assert!(all.contains(ip("203.0.113.9")));
        assert!(!all.contains(ip("::1")));
        assert!(cidr("::/0").contains(ip("::1")));
        assert_eq!(cidr("::1").to_string(), "::1/128");
    }

    #[test]
    fn bad_networks_are_refused_with_a_reason() {
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "10.0.0/8",
            "x/8",
            " 10.0.0.0/8",
        ] {
            assert!(
                matches!(bad.parse::<Cidr>(), Err(InvalidCidr::Syntax(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            "10.0.0.0/33".parse::<Cidr>(),
            Err(InvalidCidr::PrefixTooLong { .. })
        ));
        assert!(matches!(
            "::/129".parse::<Cidr>(),
            Err(InvalidCidr::PrefixTooLong { .. })
        ));
        assert!(matches!(
            "10.0.0.0/999".parse::<Cidr>(),
            Err(InvalidCidr::PrefixTooLong { .. })
        ));
        let err = "10.0.0.1/8".parse::<Cidr>().expect_err("host bits");
        assert_eq!(
            err.to_string(),
            "`10.0.0.1/8` has bits set past the prefix; the network is 10.0.0.0/8"
        );
    }
}
