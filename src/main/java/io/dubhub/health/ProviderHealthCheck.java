package io.dubhub.health;

import io.dubhub.ledger.JobLedger;
import io.dubhub.provider.ProviderAdapter;
import io.dubhub.provider.ProviderRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

import java.util.Map;

/**
 * One line per provider: ready, disabled (and which variable is missing), or in need of a
 * person (credentials refused, out of credits). Disabled is a choice, not a fault; the other
 * two mark the hub not ready for paid work until someone acts.
 */
@Readiness
@ApplicationScoped
public class ProviderHealthCheck implements HealthCheck {

    @Inject
    ProviderRegistry providers;

    @Inject
    JobLedger ledger;

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder b = HealthCheckResponse.named("providers").up();
        Map<String, String[]> problems = ledger.providerHealth();
        for (ProviderAdapter p : providers.all().values()) {
            String[] problem = problems.get(p.id());
            if (!p.enabled()) {
                b.withData(p.id(), "disabled: " + p.disabledReason().orElse("?"));
            } else if (problem != null) {
                b.withData(p.id(), problem[0].toLowerCase().replace('_', ' ') + ": " + problem[1]);
                b.down();
            } else {
                b.withData(p.id(), "ready");
            }
        }
        return b.build();
    }
}
