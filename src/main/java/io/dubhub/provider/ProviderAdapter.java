package io.dubhub.provider;

import io.dubhub.http.UrlPolicy;
import io.dubhub.job.Job;
import io.dubhub.job.JobSpec;
import io.dubhub.media.MediaInfo;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * What the core needs to know about a provider beyond its YAML routes. Each provider also
 * offers {@code direct:<id>-submit}, {@code direct:<id>-status} (answering a {@link PollOutcome})
 * and {@code direct:<id>-outputs} (answering a list of {@link OutputLink}), so the core routes
 * never name a provider.
 */
public interface ProviderAdapter {

    /** The id used in routes, folders and config: dublab, speechlab, perso, alugha, vugola. */
    String id();

    /** Empty when usable; otherwise what is missing, in the environment variable names ops set. */
    Optional<String> missingConfig();

    /**
     * The provider's configured endpoints by the setting ops change (HUB_PROVIDERS_X_BASE_URL → URL).
     * Each must be https (plain http only to loopback): the API key travels with every request.
     */
    default Map<String, String> endpoints() {
        return Map.of();
    }

    /** Why the provider is off, in words ops can act on; empty when it is usable. */
    default Optional<String> disabledReason() {
        Optional<String> missing = missingConfig();
        if (missing.isPresent()) {
            return Optional.of("set " + missing.get());
        }
        return endpoints().entrySet().stream()
                .filter(e -> !UrlPolicy.httpsOrLoopback(e.getValue()))
                .map(e -> UrlPolicy.rule(e.getKey(), e.getValue()))
                .findFirst();
    }

    default boolean enabled() {
        return disabledReason().isEmpty();
    }

    Duration pollInterval();

    Duration pollDeadline();

    /**
     * Checks the job against the provider's documented limits and languages before anything is
     * uploaded or created; throws {@link io.dubhub.job.JobRejectedException} with what is allowed.
     */
    void validate(Job job, JobSpec spec, MediaInfo media);

    /** A fresh link for an output whose presigned link expired (asked from the provider again). */
    OutputLink refresh(Job job, OutputLink expired);

    /**
     * The credits this job should cost at the provider, worked out from its documented pricing
     * before anything billable is called (the spend guard reserves it against daily budgets);
     * empty when the provider's pricing is not known to us.
     */
    default java.util.OptionalDouble estimateCredits(Job job, JobSpec spec, MediaInfo media) {
        return java.util.OptionalDouble.empty();
    }
}
