package io.dubhub.api;

import io.dubhub.config.HubConfig;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.Optional;

/**
 * When HUB_API_KEY is set, every /api/ request (jobs, routes) must carry it, as
 * {@code Authorization: Bearer <key>} or {@code X-Api-Key: <key>}. Health, metrics, staged files and
 * provider webhooks have their own rules (open, open, signed link, per-job token).
 */
@ApplicationScoped
public class ApiKeyFilter {

    private static final Logger LOG = Logger.getLogger(ApiKeyFilter.class);

    @Inject
    HubConfig config;

    void report(@Observes StartupEvent event) {
        if (key().isPresent()) {
            LOG.info("The /api/ endpoints require HUB_API_KEY (Authorization: Bearer … or X-Api-Key)");
        } else {
            LOG.warn("The /api/ endpoints are open to anyone who can reach this port: set HUB_API_KEY to protect them");
        }
    }

    @ServerRequestFilter(preMatching = true)
    public Optional<Response> check(ContainerRequestContext request) {
        Optional<String> key = key();
        String path = request.getUriInfo().getRequestUri().getRawPath();
        if (key.isEmpty() || path == null || !(path.equals("/api") || path.startsWith("/api/"))) {
            return Optional.empty();
        }
        String presented = request.getHeaderString("X-Api-Key");
        String authorization = request.getHeaderString("Authorization");
        if (presented == null && authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            presented = authorization.substring(7).trim();
        }
        if (presented != null && MessageDigest.isEqual(presented.getBytes(StandardCharsets.UTF_8), key.get().getBytes(StandardCharsets.UTF_8))) {
            return Optional.empty();
        }
        return Optional.of(Response.status(Response.Status.UNAUTHORIZED)
                .header("WWW-Authenticate", "Bearer realm=\"dubhub\"")
                .type(MediaType.APPLICATION_JSON)
                .entity(Map.of("error", presented == null
                        ? "this hub's API needs its key: send Authorization: Bearer <HUB_API_KEY> or X-Api-Key"
                        : "the API key sent is not this hub's HUB_API_KEY"))
                .build());
    }

    private Optional<String> key() {
        return config.apiKey().filter(k -> !k.isBlank());
    }
}
