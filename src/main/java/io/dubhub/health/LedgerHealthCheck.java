package io.dubhub.health;

import io.dubhub.ledger.JobLedger;
import io.dubhub.ledger.LedgerDataSource;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Without its ledger the hub cannot take or follow a job safely. */
@Readiness
@ApplicationScoped
public class LedgerHealthCheck implements HealthCheck {

    @Inject
    JobLedger ledger;

    @Inject
    LedgerDataSource db;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("ledger")
                .status(ledger.reachable())
                .withData("database", db.postgres() ? "postgresql" : "h2")
                .withData("url", db.safeUrl())
                .build();
    }
}
