package io.dubhub.provider;

import io.dubhub.job.Job;
import io.dubhub.job.JobSpec;
import io.dubhub.media.MediaInfo;

import java.time.Duration;
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

    default boolean enabled() {
        return missingConfig().isEmpty();
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
}
