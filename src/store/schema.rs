//! Diesel table definitions, kept in step with `migrations/` by hand.

diesel::table! {
    users (id) {
        id -> BigInt,
        public_id -> Text,
        email -> Text,
        nickname -> Nullable<Text>,
        status -> Text,
        language -> Text,
        password_hash -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        /// The product's own id of an imported account; unique where set.
        external_id -> Nullable<Text>,
    }
}

diesel::table! {
    reset_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        dialect -> Text,
        token_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        failed_attempts -> Integer,
    }
}

diesel::table! {
    access_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        kind -> Text,
        client_id -> Text,
        scope -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        message_id -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        lease_until -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        sent_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> BigInt,
        kind -> Text,
        user_id -> Nullable<BigInt>,
        dialect -> Nullable<Text>,
        client_ip -> Nullable<Text>,
    }
}

diesel::table! {
    /// Fixed-window counters of the rate limits; `key` is a limit kind plus a client IP or
    /// the keyed hash of an email, never an email.
    rate_limits (key, window_start) {
        key -> Text,
        window_start -> BigInt,
        count -> Integer,
    }
}

diesel::table! {
    /// Answered reset requests waiting for the issuer (`reset::issuer`); `email` is held
    /// only until the row is processed.
    reset_requests (id) {
        id -> BigInt,
        dialect -> Text,
        email -> Text,
        client_ip -> Nullable<Text>,
        created_at -> BigInt,
        lease_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Captchas handed out and not yet answered; `id` is the keyed hash of the ticket,
    /// `answer_hash` that of ticket and answer.
    captchas (id) {
        id -> Text,
        answer_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    /// Webhook deliveries (`webhooks`): one per event and endpoint; `password_hash` sealed.
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> Text,
        endpoint -> Text,
        event -> Text,
        user_id -> BigInt,
        account_id -> Text,
        email -> Text,
        external_id -> Nullable<Text>,
        dialect -> Nullable<Text>,
        occurred_at -> BigInt,
        password_hash -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        lease_until -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(reset_tokens -> users (user_id));
diesel::joinable!(access_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    reset_tokens,
    access_tokens,
    outbox,
    settings,
    audit_events,
    rate_limits,
    reset_requests,
    captchas,
    webhook_deliveries
);
