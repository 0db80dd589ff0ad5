package io.dubhub.health;

import io.dubhub.intake.BucketIntake;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** A watch-bucket route that cannot list its bucket (missing, denied, unreachable) shows here, by route id. */
@Readiness
@ApplicationScoped
public class BucketIntakeHealthCheck implements HealthCheck {

    @Inject
    BucketIntake buckets;

    @Override
    public HealthCheckResponse call() {
        var problems = buckets.problems();
        var response = HealthCheckResponse.named("bucket-intake").status(problems.isEmpty());
        problems.forEach(response::withData);
        return response.build();
    }
}
