package io.dubhub.provider.speechlab;

import static io.dubhub.provider.ProviderJson.text;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.job.Stage;
import io.dubhub.provider.ProviderException;
import io.dubhub.provider.ProviderException.Kind;
import io.dubhub.provider.ProviderHttp;
import io.dubhub.provider.ProviderHttp.Answer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one SpeechLab JWT of this process, shared by every job and route: logged in once, refreshed
 * (POST /auth/refresh-tokens) a little before its {@code exp}, and again when an API call answers
 * 401; a failed refresh falls back to a login. Synchronized: a hundred jobs asking at once cause one
 * login, the others wait for it and use its token.
 */
@ApplicationScoped
public class SpeechLabTokenSource {

    private static final Logger LOG = Logger.getLogger(SpeechLabTokenSource.class);
    static final String ID = "speechlab";
    private static final Duration MAX_SKEW = Duration.ofSeconds(60);
    /** When a token carries no readable exp claim. */
    private static final Duration ASSUMED_LIFETIME = Duration.ofMinutes(10);

    @Inject
    HubConfig config;

    @Inject
    ProviderHttp http;

    @Inject
    ObjectMapper json;

    private String accessToken;
    private String refreshToken;
    /** When we stop using the access token (its exp minus a safety margin). */
    private Instant renewAt = Instant.EPOCH;

    private final AtomicInteger logins = new AtomicInteger();
    private final AtomicInteger refreshes = new AtomicInteger();

    /** A token valid for a while yet: the cached one, or a refreshed / newly logged-in one. */
    public synchronized String token() {
        if (accessToken != null && Instant.now().isBefore(renewAt)) {
            return accessToken;
        }
        if (refreshToken != null && refresh()) {
            return accessToken;
        }
        login();
        return accessToken;
    }

    /** An API call was refused with this token (401): forget it, unless another thread already replaced it. */
    public synchronized void rejected(String token) {
        if (token != null && token.equals(accessToken)) {
            renewAt = Instant.EPOCH;
        }
    }

    public int logins() {
        return logins.get();
    }

    public int refreshes() {
        return refreshes.get();
    }

    /** Forget everything, counters included (tests, or after the credentials were changed). */
    public synchronized void clear() {
        logins.set(0);
        refreshes.set(0);
        accessToken = null;
        refreshToken = null;
        renewAt = Instant.EPOCH;
    }

    private void login() {
        String email = config.providers().speechlab().email().orElse("");
        String password = config.providers().speechlab().password().orElse("");
        if (email.isBlank() || password.isBlank()) {
            throw new ProviderException(ID, Kind.MISCONFIGURED, Stage.SUBMIT, 0,
                    "SpeechLab has no credentials: set HUB_PROVIDERS_SPEECHLAB_EMAIL and HUB_PROVIDERS_SPEECHLAB_PASSWORD", null);
        }
        logins.incrementAndGet();
        Answer answer = http.call(ID, "login", Stage.SUBMIT, "POST", uri("/auth/login"), Map.of(),
                Map.of("email", email, "password", password));
        if (!answer.ok()) {
            if (answer.status() == 400 || answer.status() == 401 || answer.status() == 403 || answer.status() == 404) {
                throw new ProviderException(ID, Kind.MISCONFIGURED, Stage.SUBMIT, answer.status(),
                        "SpeechLab refused the login of " + email + " (HTTP " + answer.status()
                                + "): check HUB_PROVIDERS_SPEECHLAB_EMAIL / HUB_PROVIDERS_SPEECHLAB_PASSWORD",
                        ProviderHttp.providerMessage(answer));
            }
            throw ProviderHttp.failure(ID, "login", Stage.SUBMIT, answer);
        }
        adopt(answer, "login");
        LOG.infof("SpeechLab: logged in as %s (token valid until %s)", email, renewAt);
    }

    private boolean refresh() {
        refreshes.incrementAndGet();
        Answer answer;
        try {
            answer = http.call(ID, "refresh-tokens", Stage.SUBMIT, "POST", uri("/auth/refresh-tokens"), Map.of(),
                    Map.of("refreshToken", refreshToken));
        } catch (ProviderException e) {
            LOG.debugf("SpeechLab token refresh failed (%s); logging in again", e.getMessage());
            refreshToken = null;
            return false;
        }
        if (!answer.ok()) {
            LOG.infof("SpeechLab refused the token refresh (HTTP %d); logging in again", answer.status());
            refreshToken = null;
            return false;
        }
        try {
            adopt(answer, "refresh-tokens");
        } catch (ProviderException e) {
            refreshToken = null;
            return false;
        }
        LOG.debugf("SpeechLab: token refreshed (valid until %s)", renewAt);
        return true;
    }

    /** {tokens:{accessToken:{jwtToken}, refreshToken:{token}}}; a refresh answer may come without "tokens". */
    private void adopt(Answer answer, String operation) {
        JsonNode root = answer.body();
        JsonNode tokens = root == null ? null : root.has("tokens") ? root.get("tokens") : root;
        String jwt = tokens == null ? null : text(tokens.path("accessToken"), "jwtToken");
        if (jwt == null) {
            throw new ProviderException(ID, Kind.TRANSIENT, Stage.SUBMIT, answer.status(),
                    "SpeechLab's " + operation + " answer has no tokens.accessToken.jwtToken", null);
        }
        String refresh = text(tokens.path("refreshToken"), "token");
        accessToken = jwt;
        if (refresh != null) {
            refreshToken = refresh;
        }
        renewAt = renewAt(jwt, Instant.now());
    }

    /** exp minus a margin of a quarter of the token's life, at most a minute. */
    Instant renewAt(String jwt, Instant now) {
        Instant exp = null;
        Instant iat = null;
        try {
            String[] parts = jwt.split("\\.");
            if (parts.length >= 2) {
                JsonNode claims = json.readTree(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
                if (claims.hasNonNull("exp")) {
                    exp = Instant.ofEpochSecond(claims.get("exp").asLong());
                }
                if (claims.hasNonNull("iat")) {
                    iat = Instant.ofEpochSecond(claims.get("iat").asLong());
                }
            }
        } catch (Exception e) {
            LOG.debugf("SpeechLab token is not a readable JWT: %s", e.getMessage());
        }
        if (exp == null) {
            return now.plus(ASSUMED_LIFETIME.minus(MAX_SKEW));
        }
        Duration life = Duration.between(iat == null ? now : iat, exp);
        Duration skew = life.dividedBy(4);
        if (skew.compareTo(MAX_SKEW) > 0) {
            skew = MAX_SKEW;
        }
        return exp.minus(skew);
    }

    private URI uri(String path) {
        String base = config.providers().speechlab().baseUrl();
        return URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + path);
    }

}
