//! Checking a token without redeeming it: SelfCommunity's reset screen asks whether the
//! emailed validation code is still good before it shows the password form.
//!
//! The check is a guess like a redemption (SECURITY.md 10): counted against the client IP
//! before any lookup and refused past its limit; a token the server issued is not a failure.
//! Nothing is consumed, burned or written besides that count.

use std::net::IpAddr;

use super::error::RedeemError;
use super::{Dialect, ResetCore};

impl ResetCore {
    /// `Ok(())` when `token` is a live (unused, unexpired) reset token of `dialect`;
    /// [`RedeemError::InvalidToken`] when it is not; the other variants as for a redemption.
    pub async fn check_token(
        &self,
        dialect: Dialect,
        token: &str,
        client_ip: IpAddr,
    ) -> Result<(), RedeemError> {
        if !self.is_enabled(dialect) {
            return Err(RedeemError::DialectDisabled(dialect));
        }
        // A token no server could have issued is refused before anything is counted.
        if !dialect.token_format().matches(token) {
            return Err(RedeemError::InvalidToken);
        }
        let attempt = self.begin_redemption(dialect, client_ip).await?;
        let hash = self.reset_token_hash(dialect, token);
        let Some(issued) = self.store.find_reset_token(dialect.as_str(), &hash).await? else {
            return Err(RedeemError::InvalidToken);
        };
        self.not_a_failure(attempt).await?;
        if issued.used_at.is_some() || issued.expires_at <= self.clock.now_ms() {
            return Err(RedeemError::InvalidToken);
        }
        Ok(())
    }
}
