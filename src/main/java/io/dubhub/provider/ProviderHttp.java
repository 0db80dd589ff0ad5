package io.dubhub.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.http.UrlRedactor;
import io.dubhub.job.Stage;
import io.dubhub.metrics.HubMetrics;
import io.dubhub.provider.ProviderException.Kind;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Map;

/**
 * JSON calls to provider APIs: one place that times them, redacts them in logs and turns HTTP
 * outcomes into {@link ProviderException} kinds the pipeline acts on (retry, stop, flag).
 */
@ApplicationScoped
public class ProviderHttp {

    private static final Logger LOG = Logger.getLogger(ProviderHttp.class);

    @Inject
    HttpClient http;

    @Inject
    io.dubhub.config.HubConfig config;

    @Inject
    ObjectMapper json;

    @Inject
    HubMetrics metrics;

    /** An answer with its status, for callers that treat some 4xx as meaningful (409 = already done). */
    public record Answer(int status, JsonNode body, String raw, Map<String, java.util.List<String>> headers) {
        public boolean ok() {
            return status / 100 == 2;
        }
    }

    public Answer call(String provider, String operation, Stage stage, String method, URI uri,
                       Map<String, String> headers, Object body) {
        Duration timeout = config.http().callTimeout();
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(timeout).header("Accept", "application/json");
        headers.forEach(request::header);
        try {
            if (body == null) {
                request.method(method, HttpRequest.BodyPublishers.noBody());
            } else {
                request.header("Content-Type", "application/json");
                request.method(method, HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body)));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode request body for " + operation, e);
        }
        long started = System.nanoTime();
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (HttpTimeoutException e) {
            metrics.providerCall(provider, operation, 0, System.nanoTime() - started);
            throw new ProviderException(provider, Kind.TRANSIENT, stage, provider + " did not answer " + operation + " within " + describe(timeout) + " (HUB_HTTP_CALL_TIMEOUT)", e);
        } catch (IOException e) {
            metrics.providerCall(provider, operation, 0, System.nanoTime() - started);
            throw new ProviderException(provider, Kind.TRANSIENT, stage, provider + " could not be reached for " + operation + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProviderException(provider, Kind.TRANSIENT, stage, operation + " interrupted", e);
        }
        metrics.providerCall(provider, operation, response.statusCode(), System.nanoTime() - started);
        LOG.debugf("%s %s %s -> HTTP %d", provider, method, UrlRedactor.redact(uri), response.statusCode());
        JsonNode parsed = null;
        String raw = response.body();
        if (raw != null && !raw.isBlank()) {
            try {
                parsed = json.readTree(raw);
            } catch (IOException e) {
                if (response.statusCode() / 100 == 2) {
                    throw new ProviderException(provider, Kind.TRANSIENT, stage, response.statusCode(),
                            provider + " answered " + operation + " with something that is not JSON", snippet(raw));
                }
            }
        }
        return new Answer(response.statusCode(), parsed, raw, response.headers().map());
    }

    private static String describe(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    /** The provider's own error text: {"error": "..."} / {"message": "..."} / the raw body. */
    public static String providerMessage(Answer answer) {
        JsonNode b = answer.body();
        if (b != null) {
            for (String field : new String[]{"error", "message", "detail", "errorMessage"}) {
                JsonNode n = b.get(field);
                if (n != null && n.isTextual()) {
                    JsonNode msg = b.get("message");
                    return msg != null && msg.isTextual() && !field.equals("message") ? n.asText() + ": " + msg.asText() : n.asText();
                }
            }
        }
        return snippet(answer.raw());
    }

    /**
     * The usual meaning of an unsuccessful status. Providers with quirks (SpeechLab's 400 without
     * a header) check their special cases before calling this.
     */
    public static ProviderException failure(String provider, String operation, Stage stage, Answer answer) {
        int status = answer.status();
        String said = providerMessage(answer);
        return switch (status) {
            case 401, 403 -> new ProviderException(provider, Kind.MISCONFIGURED, stage, status,
                    provider + " refused our credentials (HTTP " + status + ") on " + operation
                            + ": check the API key/token configured for " + provider, said);
            case 402 -> new ProviderException(provider, Kind.OUT_OF_CREDITS, stage, status,
                    provider + ": out of credits (HTTP 402 on " + operation + "); top up the account, then drop the file again", said);
            case 408, 425, 429 -> new ProviderException(provider, Kind.TRANSIENT, stage, status,
                    provider + " asked us to slow down (HTTP " + status + ") on " + operation, said);
            default -> status >= 500
                    ? new ProviderException(provider, Kind.TRANSIENT, stage, status,
                    provider + " had a server error (HTTP " + status + ") on " + operation + "; will retry", said)
                    : new ProviderException(provider, Kind.REJECTED, stage, status,
                    provider + " rejected " + operation + " (HTTP " + status + "): " + said, said);
        };
    }

    private static String snippet(String raw) {
        if (raw == null) {
            return null;
        }
        return raw.length() > 500 ? raw.substring(0, 500) + "…" : raw;
    }
}
