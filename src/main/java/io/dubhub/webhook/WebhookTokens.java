package io.dubhub.webhook;

import io.dubhub.staging.StagedFiles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The token in a provider's per-job webhook URL ({@code ?token=...}): an HMAC of provider and job
 * id under the hub's staging secret (HUB_STAGING_SECRET, or the generated one in the data folder),
 * so it survives restarts, is the same on every replica sharing that secret, and needs no storage.
 * Only someone we gave the URL to can knock for that job. Tokens are never logged.
 */
@ApplicationScoped
public class WebhookTokens {

    @Inject
    StagedFiles signer;

    public String token(String provider, String jobId) {
        return signer.sign("webhook:" + provider, jobId);
    }

    /** Constant-time comparison: how far a guess matches must not show in the answer time. */
    public boolean matches(String provider, String jobId, String presented) {
        if (presented == null || presented.isEmpty() || jobId == null) {
            return false;
        }
        byte[] expected = token(provider, jobId).getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(expected, presented.getBytes(StandardCharsets.UTF_8));
    }
}
