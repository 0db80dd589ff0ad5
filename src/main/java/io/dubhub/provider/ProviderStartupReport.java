package io.dubhub.provider;

import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

/** Says at start which providers are on and, for the others, which variable would turn them on. */
@ApplicationScoped
public class ProviderStartupReport {

    private static final Logger LOG = Logger.getLogger(ProviderStartupReport.class);

    @Inject
    ProviderRegistry providers;

    void report(@Observes StartupEvent event) {
        for (ProviderAdapter p : providers.all().values()) {
            if (p.enabled()) {
                LOG.infof("Provider %-9s enabled (poll every %d s)", p.id(), p.pollInterval().toSeconds());
            } else {
                LOG.warnf("Provider %-9s disabled: %s", p.id(), p.disabledReason().orElse("?"));
            }
        }
    }
}
