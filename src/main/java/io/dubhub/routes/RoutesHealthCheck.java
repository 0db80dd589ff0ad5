package io.dubhub.routes;

import io.dubhub.config.HubConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * "routes" in /q/health/ready: one line per routes file, "applied: [route ids]" or the first error
 * with its line and what still runs instead. A broken file leaves readiness UP by default: its
 * previous routes keep working, and with replicas sharing one config folder a typo would otherwise
 * take every replica out of the load balancer at once. HUB_ROUTES_BROKEN_FILE_FAILS_READINESS=true
 * turns it DOWN for teams that want a broken edit to block a rollout.
 */
@Readiness
@ApplicationScoped
public class RoutesHealthCheck implements HealthCheck {

    @Inject
    RouteFiles routeFiles;

    @Inject
    HubConfig config;

    @Override
    public HealthCheckResponse call() {
        if (!routeFiles.initialLoadDone()) {
            return HealthCheckResponse.named("routes").down().withData("state", "loading the routes files").build();
        }
        var broken = routeFiles.brokenFiles();
        HealthCheckResponseBuilder b = HealthCheckResponse.named("routes")
                .status(broken.isEmpty() || !config.routes().brokenFileFailsReadiness());
        routeFiles.appliedRoutes().forEach((file, ids) -> b.withData(file, broken.getOrDefault(file, "applied: " + ids)));
        broken.forEach((file, problem) -> b.withData(file, problem));
        b.withData("brokenFiles", broken.size());
        return b.build();
    }
}
