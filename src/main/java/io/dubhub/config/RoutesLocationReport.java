package io.dubhub.config;

import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

import java.nio.file.Files;
import java.nio.file.Path;

/** Says at start which watch-route files are in force, so nobody edits a folder the hub does not read. */
@ApplicationScoped
public class RoutesLocationReport {

    private static final Logger LOG = Logger.getLogger(RoutesLocationReport.class);

    void report(@Observes StartupEvent event) {
        Path routes = RoutesLocationConfigSource.configDir().resolve("routes").toAbsolutePath().normalize();
        if (Files.isDirectory(routes)) {
            LOG.infof("Watch routes from %s", routes);
        } else {
            LOG.warnf("No %s here: running the built-in watch routes (data/inbox/<provider>/). "
                    + "Copy config/routes/ from the dubhub repository there (or set HUB_CONFIG_DIR) to change them.", routes);
        }
    }
}
