-- ASP.NET Core data-protection keys (sign-in cookies, antiforgery tokens, sealed notices), shared
-- by every instance and kept across deploys. Whoever can read this table can read everything else here too.
CREATE TABLE data_protection_keys (
    friendly_name text PRIMARY KEY,
    xml           text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
