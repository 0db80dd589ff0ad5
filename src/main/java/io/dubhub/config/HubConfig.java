package io.dubhub.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.Optional;

/**
 * Every key of our own, under one prefix. Quarkus maps each to an environment variable
 * (hub.providers.dublab.api-key = HUB_PROVIDERS_DUBLAB_API_KEY): those names are a contract
 * with outside tools, so rename nothing here without a migration note.
 */
@ConfigMapping(prefix = "hub")
public interface HubConfig {

    /** HUB_DATA_DIR: inbox/, outbox/, done/, failed/ and the default H2 ledger live here. */
    @WithDefault("./data")
    String dataDir();

    /** HUB_PUBLIC_BASE_URL: how providers reach the hub (staged media, webhooks). */
    @WithDefault("http://localhost:8080")
    String publicBaseUrl();

    /** HUB_API_KEY: when set, /api/ requests must carry it (Authorization: Bearer … or X-Api-Key). */
    Optional<String> apiKey();

    /** Stable name of this process in row leases; random per start unless set. */
    Optional<String> instanceId();

    /** How many jobs this process works on at once (uploads, polls, downloads). */
    @WithDefault("4")
    int workers();

    Poll poll();

    Http http();

    /** Time limits of outgoing HTTP: provider API calls, and bulk transfers (uploads, downloads, bucket copies). */
    interface Http {
        /** HUB_HTTP_CONNECT_TIMEOUT: a host that does not accept the connection within this is a transient failure. */
        @WithDefault("15s")
        Duration connectTimeout();

        /** HUB_HTTP_CALL_TIMEOUT: a provider API call (JSON) that has not answered within this is retried later. */
        @WithDefault("60s")
        Duration callTimeout();

        /**
         * HUB_HTTP_IDLE_TIMEOUT: a transfer during which no byte moves for this long is broken off and retried.
         * Not a limit on the whole transfer: a 4 GiB upload may take as long as it takes while bytes flow.
         */
        @WithDefault("2m")
        Duration idleTimeout();
    }

    Ledger ledger();

    Sandbox sandbox();

    Providers providers();

    Staging staging();

    Notifications notifications();

    Fault fault();

    /** Fault injection for the crash-matrix tests only (see io.dubhub.pipeline.CrashPoints). */
    interface Fault {
        /** HUB_FAULT_CRASH_AT: halt the process the first time it reaches this point. Never set in production. */
        Optional<String> crashAt();
    }

    /** Job end events: CloudEvents 1.0 JSON to <data-dir>/events.jsonl and a webhook. */
    interface Notifications {
        /** HUB_NOTIFICATIONS_WEBHOOK_URL: where events go when the watch route has no notifyUrl; none = the events log only. */
        Optional<String> webhookUrl();

        /** HUB_NOTIFICATIONS_SECRET: signs each body (X-Dubhub-Signature: sha256=HMAC-SHA256 hex) when set. */
        Optional<String> secret();

        /** How often due notifications are looked for. */
        @WithDefault("2s")
        Duration tick();

        /** How long one webhook POST may take. */
        @WithDefault("10s")
        Duration timeout();

        /** Attempts before a notification is given up (marked dead, logged); backoff doubles up to max-backoff. */
        @WithDefault("15")
        int maxAttempts();

        @WithDefault("10m")
        Duration maxBackoff();
    }

    Reports reports();

    /** The usage report (routes/pipeline/reports.camel.yaml): data/reports/<date>.json on a cron. */
    interface Reports {
        /** HUB_REPORTS_CRON: Quartz cron (seconds first); default every day at 00:05. */
        @WithDefault("0 5 0 * * ?")
        String cron();

        /** HUB_REPORTS_TIMEZONE: the zone the cron and the report's date are read in. */
        @WithDefault("UTC")
        String timezone();
    }

    /** HUB_CONFIG_DIR: routes/*.yaml (the watch routes ops edit) are read from here, and re-read while the hub runs. */
    @WithDefault("config")
    String configDir();

    Routes routes();

    interface Routes {
        /** How often config/routes/ is checked for added, changed and removed files. */
        @WithDefault("2s")
        Duration checkInterval();

        /**
         * false (default): a broken routes file is reported by the "routes" readiness check but keeps it UP, because
         * the file's previous routes still run; true: it turns readiness DOWN until the file is fixed.
         */
        @WithDefault("false")
        boolean brokenFileFailsReadiness();
    }

    interface Staging {
        /** HUB_STAGING_SECRET: signs /staged/ links; unset = a random one kept in <data-dir>/.staging.secret. */
        Optional<String> secret();
    }

    interface Poll {
        /** How often the poller looks for due jobs; each provider has its own interval on top. */
        @WithDefault("1s")
        Duration tick();

        /** A claimed job is ours for this long; renewed while we work on it, taken over after a crash. */
        @WithDefault("2m")
        Duration lease();

        /** How often held leases are renewed; keep it well under the lease. Read by routes/poll.camel.yaml. */
        @WithDefault("20s")
        Duration leaseRenewal();

        /** Longest wait between retries of a failing call (backoff doubles up to this). */
        @WithDefault("5m")
        Duration maxBackoff();

        /** Transient failures in a row after which a job is failed instead of retried. */
        @WithDefault("12")
        int maxAttempts();
    }

    interface Ledger {
        /** HUB_LEDGER_JDBC_URL: H2 file by default, PostgreSQL when it says jdbc:postgresql:. */
        Optional<String> jdbcUrl();

        Optional<String> username();

        Optional<String> password();

        @WithDefault("8")
        int maxPoolSize();
    }

    interface Sandbox {
        /** Serve the provider simulators and the local presigned storage (sandbox and test profiles). */
        @WithDefault("false")
        boolean enabled();

        /** Put a generated demo video into each sandbox inbox at start. */
        @WithDefault("false")
        boolean demoInbox();

        /** How long the simulators take per stage of a dub. */
        @WithDefault("2s")
        Duration stageDuration();
    }

    interface Providers {
        Dublab dublab();

        Speechlab speechlab();

        Perso perso();

        Alugha alugha();

        Vugola vugola();
    }

    /** What every provider has: where it is and how often we ask it. */
    interface ProviderEndpoint {
        String baseUrl();

        @WithDefault("10s")
        Duration pollInterval();

        /** A job still running this long after submission is reported stuck. */
        @WithDefault("24h")
        Duration pollDeadline();
    }

    interface Dublab extends ProviderEndpoint {
        @WithDefault("https://dublab.app/api/v1")
        @Override
        String baseUrl();

        Optional<String> apiKey();

        /** dublab's documented ceiling on one source (the API answers 400 above it). */
        @WithDefault("3h")
        Duration maxDuration();

        /** Largest source we upload in one presigned PUT (S3 allows 5 GiB). */
        @WithDefault("5368709120")
        long maxBytes();
    }

    interface Speechlab extends ProviderEndpoint {
        @WithDefault("https://translate-api.speechlab.ai/v1")
        @Override
        String baseUrl();

        /** HUB_PROVIDERS_SPEECHLAB_EMAIL: the account's login; without email and password SpeechLab is disabled. */
        Optional<String> email();

        /** HUB_PROVIDERS_SPEECHLAB_PASSWORD */
        Optional<String> password();

        /**
         * How long the link SpeechLab fetches a source from stays valid on the URL path
         * (createProjectAndDub): the doc asks for a "signed URL valid for the dub duration".
         */
        @WithDefault("24h")
        Duration sourceUrlValidity();
    }

    /** Perso AI (shared/providers/perso-api.md): XP-API-KEY auth, Azure Blob upload, one project per language. */
    interface Perso extends ProviderEndpoint {
        @WithDefault("https://api.perso.ai")
        @Override
        String baseUrl();

        /** HUB_PROVIDERS_PERSO_API_KEY (pk_live_...); the provider is disabled without it. */
        Optional<String> apiKey();

        /** HUB_PROVIDERS_PERSO_SPACE_SEQ; looked up from GET /portal/api/v1/spaces when unset. */
        Optional<Long> spaceSeq();

        /** HUB_PROVIDERS_PERSO_MEDIA_BASE_URL: relative /perso-storage/... paths resolve against it. */
        @WithDefault("https://portal-media.perso.ai")
        String mediaBaseUrl();

        /** Sources up to this size go to the blob in one PUT; larger ones in blocks (Put Block + Put Block List). */
        @WithDefault("268435456")
        long singlePutMaxBytes();

        /** Size of one block when uploading in blocks. */
        @WithDefault("16777216")
        long blockBytes();
    }

    /** alugha (shared/providers/alugha-api-v2.md): Bearer token, URL pull, status webhooks with polling as fallback. */
    interface Alugha extends ProviderEndpoint {
        @WithDefault("https://alugha.com/v2")
        @Override
        String baseUrl();

        /** HUB_PROVIDERS_ALUGHA_TOKEN: an API token with the video and track scopes; the provider is disabled without it. */
        Optional<String> token();

        /**
         * How long the staged source link handed to alugha as downloadFromUrl stays valid. alugha
         * fetches it when it starts processing, which may wait in its queue: long enough for that,
         * short enough that a leaked link soon stops working.
         */
        @WithDefault("12h")
        Duration stagedLinkValidity();
    }

    /**
     * Vugola (shared/providers/vugola-api-v1.md): clips and captions from a URL the hub stages,
     * Bearer vug_sk_ keys, 5 clip requests a minute and 3 jobs at once per account.
     */
    interface Vugola extends ProviderEndpoint {
        @WithDefault("https://www.vugolaai.com/api/v1")
        @Override
        String baseUrl();

        /** HUB_PROVIDERS_VUGOLA_API_KEY (vug_sk_...); the provider is disabled without it. */
        Optional<String> apiKey();

        /** HUB_PROVIDERS_VUGOLA_POLL_INTERVAL: clamped into the documented 30-60 s band. */
        @WithDefault("30s")
        @Override
        Duration pollInterval();

        /**
         * TEST ONLY: the lower end of the poll band (the doc says 30 s). Tests lower it to run in
         * seconds; production leaves it alone.
         */
        @WithDefault("30s")
        Duration pollFloor();

        /**
         * The rolling window of Vugola's "5 clip requests a minute". Keep 1m: tests scale it down
         * (with the simulator's window) to prove the same invariant in seconds.
         */
        @WithDefault("1m")
        Duration rateWindow();

        /** How long the staged source link stays valid: a replay after a lost answer must send the same URL. */
        @WithDefault("24h")
        Duration stagedLinkTtl();
    }

    Budget budget();

    /**
     * The spend guard: optional daily credit caps. A job's estimated credits are reserved in the
     * ledger before its first billable call; a job that does not fit today waits (or fails).
     */
    interface Budget {
        /** HUB_BUDGET_TIMEZONE: where a budget day starts and ends (an IANA zone id or UTC). */
        @WithDefault("UTC")
        String timezone();

        /** HUB_BUDGET_WHEN_EXCEEDED: wait (until the next budget day) or fail. */
        @WithDefault("wait")
        String whenExceeded();

        /** Caps per provider, e.g. HUB_BUDGET_PROVIDERS_DUBLAB_DAILY_CREDITS=40. */
        ProviderBudgets providers();

        /** One group per provider (not a map) so every env var name is unambiguous. */
        interface ProviderBudgets {
            ProviderBudget dublab();

            ProviderBudget speechlab();

            ProviderBudget perso();

            ProviderBudget alugha();

            ProviderBudget vugola();

            default java.util.OptionalDouble dailyCredits(String provider) {
                ProviderBudget b = switch (provider) {
                    case "dublab" -> dublab();
                    case "speechlab" -> speechlab();
                    case "perso" -> perso();
                    case "alugha" -> alugha();
                    case "vugola" -> vugola();
                    default -> null;
                };
                return b == null ? java.util.OptionalDouble.empty() : b.dailyCredits();
            }
        }

        interface ProviderBudget {
            /** Credits this provider may be given per budget day, across every route and replica; unset = no cap. */
            java.util.OptionalDouble dailyCredits();
        }
    }
}
