package io.dubhub.routes;

import org.apache.camel.CamelContext;
import org.apache.camel.model.Model;
import org.apache.camel.model.RouteTemplateDefinition;
import org.apache.camel.model.RouteTemplateParameterDefinition;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.SequenceNode;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/** The templates a routes file may instantiate, with their parameters: from the running Camel, or from the shipped YAML. */
public final class RouteTemplates {

    private RouteTemplates() {
    }

    /** Every template the running hub has, including any added after this class was written. */
    public static Map<String, RouteTemplate> fromCamel(CamelContext context) {
        Map<String, RouteTemplate> out = new TreeMap<>();
        for (RouteTemplateDefinition t : context.getCamelContextExtension().getContextPlugin(Model.class).getRouteTemplateDefinitions()) {
            Map<String, RouteTemplate.Parameter> parameters = new LinkedHashMap<>();
            for (RouteTemplateParameterDefinition p : t.getTemplateParameters()) {
                // Camel applies the default first, then insists on the required ones that are still missing
                parameters.put(p.getName(), new RouteTemplate.Parameter(p.getName(), p.isRequired() && p.getDefaultValue() == null,
                        p.getDescription() == null ? "" : p.getDescription()));
            }
            out.put(t.getId(), new RouteTemplate(t.getId(), parameters));
        }
        return out;
    }

    /** The routeTemplate entries of YAML route files (the offline command reads the jar's routes this way). */
    public static Map<String, RouteTemplate> fromYaml(Collection<String> yamlFiles) {
        Map<String, RouteTemplate> out = new TreeMap<>();
        for (String yaml : yamlFiles) {
            Node root = new Compose(LoadSettings.builder().build()).composeString(yaml).orElse(null);
            if (!(root instanceof SequenceNode entries)) {
                continue;
            }
            for (Node entry : entries.getValue()) {
                Map<String, Node> e = map(entry);
                Map<String, Node> template = map(e.get("routeTemplate"));
                String id = RouteFileValidator.scalar(template.get("id"));
                if (id == null) {
                    continue;
                }
                Map<String, RouteTemplate.Parameter> parameters = new LinkedHashMap<>();
                if (template.get("parameters") instanceof SequenceNode list) {
                    for (Node p : list.getValue()) {
                        Map<String, Node> param = map(p);
                        String name = RouteFileValidator.scalar(param.get("name"));
                        if (name == null) {
                            continue;
                        }
                        boolean required = !"false".equals(RouteFileValidator.scalar(param.get("required")))
                                && !param.containsKey("defaultValue");
                        String description = RouteFileValidator.scalar(param.get("description"));
                        parameters.put(name, new RouteTemplate.Parameter(name, required, description == null ? "" : description));
                    }
                }
                out.put(id, new RouteTemplate(id, parameters));
            }
        }
        return out;
    }

    private static Map<String, Node> map(Node node) {
        Map<String, Node> out = new LinkedHashMap<>();
        if (node instanceof MappingNode m) {
            for (NodeTuple t : m.getValue()) {
                String key = RouteFileValidator.scalar(t.getKeyNode());
                if (key != null) {
                    out.put(key, t.getValueNode());
                }
            }
        }
        return out;
    }
}
