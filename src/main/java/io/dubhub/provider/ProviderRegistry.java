package io.dubhub.provider;

import io.dubhub.job.JobRejectedException;
import io.dubhub.job.Stage;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Any;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import jakarta.inject.Named;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** Every provider adapter by id; the core routes and health ask here, never a provider by name. */
@ApplicationScoped
@Named("providers")
public class ProviderRegistry {

    @Inject
    @Any
    Instance<ProviderAdapter> adapters;

    public Map<String, ProviderAdapter> all() {
        Map<String, ProviderAdapter> out = new TreeMap<>();
        adapters.forEach(a -> out.put(a.id(), a));
        return out;
    }

    public Optional<ProviderAdapter> find(String id) {
        return Optional.ofNullable(all().get(id));
    }

    public ProviderAdapter get(String id) {
        return find(id).orElseThrow(() -> new JobRejectedException(Stage.INTAKE,
                "unknown provider '" + id + "'; known providers are " + String.join(", ", all().keySet())));
    }

    /** Used by the watch routes: a disabled provider's inbox is left alone. */
    public boolean enabled(String id) {
        return find(id).map(ProviderAdapter::enabled).orElse(false);
    }
}
