"""Scheduler profiles: from a KubeSchedulerConfiguration file or dict, or from code.

In Kubernetes, kube-scheduler reads a `KubeSchedulerConfiguration`
(kubescheduler.config.k8s.io/v1): a list of profiles, each with a `schedulerName`,
the plugins to enable or disable per extension point (`multiPoint` = every point the
plugin implements; `filter`, `score`, ...; `{"name": "*"}` in `disabled` = all the
defaults), a `weight` per score plugin, `pluginConfig` args per plugin, and
`percentageOfNodesToScore` (top level, or per profile since 1.25). Unset fields take
kube-scheduler's defaults: the default plugins (plugins.DEFAULT_PROFILE) in multiPoint.

    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    percentageOfNodesToScore: 100
    profiles:
    - schedulerName: default-scheduler
      plugins:
        score:
          disabled: [{name: NodeResourcesBalancedAllocation}]
          enabled: [{name: NodeResourcesFit, weight: 5}]
      pluginConfig:
      - name: NodeResourcesFit
        args: {scoringStrategy: {type: MostAllocated}}

The merge is Kubernetes' (default_plugins.go mergePluginSet, then the framework's
multiPoint expansion): a default plugin re-enabled by the user keeps its place with
the user's settings; at an extension point, plugins named there come first, then the
multiPoint ones not disabled there, then the rest named there. A configured weight 0
becomes 1 ("a weight of zero is not permitted"). pluginConfig args are laid over the
plugin's default args field by field (top level). Extension points minik8s does not
have (queueSort, postFilter, reserve, permit, preBind, bind, postBind, preEnqueue)
are accepted and ignored. Errors are ConfigError with the offending name.
"""
from __future__ import annotations

import os
from typing import Iterable, Optional, Union

from minik8s.scheduler.cycle import Profile, plugin_name

API_VERSION = "kubescheduler.config.k8s.io/v1"
KIND = "KubeSchedulerConfiguration"
DEFAULT_SCHEDULER_NAME = "default-scheduler"

# Extension point (config name) -> the Plugin method it calls (normalize_score goes
# with score).
POINTS = {"preFilter": ("pre_filter",), "filter": ("filter",),
          "preScore": ("pre_score",), "score": ("score", "normalize_score")}
IGNORED_POINTS = ("queueSort", "preEnqueue", "postFilter", "reserve", "permit",
                  "preBind", "bind", "postBind")


class ConfigError(ValueError):
    """An invalid scheduler configuration."""


class PluginAt:
    """A plugin seen at some extension points only (e.g. its filter enabled, its
    score disabled). Shares the plugin instance, so its state is the plugin's."""

    def __init__(self, plugin, point: str):
        self.name = plugin_name(plugin)
        self.plugin, self.point = plugin, point
        for method in POINTS[point]:
            if hasattr(plugin, method):
                setattr(self, method, getattr(plugin, method))

    def __repr__(self) -> str:
        return f"PluginAt({self.name!r}, {self.point!r})"


# -- from code ----------------------------------------------------------------------

def default_profile() -> Profile:
    """kube-scheduler's default profile (plugins.DEFAULT_PROFILE)."""
    from minik8s.scheduler.plugins import DEFAULT_PROFILE
    return profile_from_code(DEFAULT_PROFILE)


def profile_from_code(plugins: Iterable, *, percentage_of_nodes_to_score: int = 0,
                      scheduler_name: str = DEFAULT_SCHEDULER_NAME,
                      explain: bool = False, plugin_args: Optional[dict] = None) -> Profile:
    """A profile from a list of `(name, weight)` or `(name, weight, args)` — names
    from plugins.PLUGINS, args (and `plugin_args[name]`) laid over the default
    profile's args for that plugin — or `(plugin, weight)`
    with a plugin object of your own. Filters run in the order given."""
    from minik8s.scheduler.plugins import DEFAULT_PROFILE
    default_args = {name: args for name, _, args in DEFAULT_PROFILE}
    plugin_args = plugin_args or {}
    entries, seen = [], set()
    for item in plugins:
        what, weight, *rest = (item, 1) if isinstance(item, str) else item
        args = rest[0] if rest else {}
        _check_weight(weight, what if isinstance(what, str) else plugin_name(what))
        if isinstance(what, str):
            plugin = _instantiate(what, {**default_args.get(what, {}), **args,
                                         **plugin_args.get(what, {})})
        else:
            plugin = what
        name = plugin_name(plugin)
        if name in seen:
            raise ConfigError(f'plugin "{name}" already registered')
        seen.add(name)
        entries.append((plugin, weight))
    _check_percentage(percentage_of_nodes_to_score)
    return Profile(entries, percentage_of_nodes_to_score, scheduler_name, explain)


# -- from a KubeSchedulerConfiguration ------------------------------------------------

def load_profile(source: Union[str, os.PathLike, dict, None] = None, rng=None) -> Profile:
    """The first profile of a KubeSchedulerConfiguration (YAML file path or dict);
    None = the default profile. `rng` is accepted for symmetry with the components;
    no plugin needs randomness (ties are broken by the Framework's rng)."""
    if source is None:
        return default_profile()
    return load_profiles(source)[0]


def load_profiles(source: Union[str, os.PathLike, dict]) -> list:
    """Every profile of a KubeSchedulerConfiguration, in order."""
    cfg = _read(source)
    if cfg.get("apiVersion", API_VERSION) != API_VERSION:
        raise ConfigError(f'apiVersion "{cfg["apiVersion"]}" is not supported: '
                          f'use "{API_VERSION}"')
    if cfg.get("kind", KIND) != KIND:
        raise ConfigError(f'kind "{cfg["kind"]}" is not supported: use "{KIND}"')
    percentage = cfg.get("percentageOfNodesToScore") or 0
    _check_percentage(percentage)
    profiles = cfg.get("profiles") or [{}]
    names = [p.get("schedulerName") or DEFAULT_SCHEDULER_NAME for p in profiles]
    if len(set(names)) != len(names):
        raise ConfigError(f"profiles: duplicate schedulerName in {names}")
    return [_build(p, percentage) for p in profiles]


def _build(cfg: dict, percentage: int) -> Profile:
    from minik8s.scheduler.plugins import DEFAULT_PROFILE
    scheduler_name = cfg.get("schedulerName") or DEFAULT_SCHEDULER_NAME
    if cfg.get("percentageOfNodesToScore") is not None:
        percentage = cfg["percentageOfNodesToScore"]
        _check_percentage(percentage)
    plugins_cfg = cfg.get("plugins") or {}
    for point in plugins_cfg:
        if point != "multiPoint" and point not in POINTS and point not in IGNORED_POINTS:
            raise ConfigError(f'plugins: unknown extension point "{point}"')
    args_by_name = _plugin_config(cfg.get("pluginConfig") or [])
    default_args = {name: args for name, _, args in DEFAULT_PROFILE}

    # 1. multiPoint: the defaults merged with the user's multiPoint set.
    defaults = [{"name": name, "weight": weight} for name, weight, _ in DEFAULT_PROFILE]
    multi = _merge(defaults, plugins_cfg.get("multiPoint") or {})
    multi_names = _unique([p["name"] for p in multi], "MultiPoint")

    # 2. One instance per plugin, whatever the number of points it is enabled at.
    wanted = list(multi_names)
    for point in POINTS:
        wanted += [p["name"] for p in _enabled(plugins_cfg, point) if p["name"] not in wanted]
    instances = {}
    for name in wanted:
        instances[name] = _instantiate(name, {**default_args.get(name, {}),
                                              **args_by_name.get(name, {})})

    # 3. Each extension point's plugins in order; score weights.
    score_weights = {p["name"]: p.get("weight") or 1 for p in _enabled(plugins_cfg, "score")}
    for p in multi:
        score_weights.setdefault(p["name"], p.get("weight") or 1)
    entries = []
    for point in POINTS:
        for name in _expand(point, plugins_cfg.get(point) or {}, multi_names, instances):
            weight = score_weights[name] if point == "score" else 0
            _check_weight(weight, name)
            entries.append((PluginAt(instances[name], point), weight))
    return Profile(entries, percentage, scheduler_name)


def _merge(defaults: list, custom: dict) -> list:
    """mergePluginSet: defaults minus the disabled ("*" = all), a default the user
    enables again is replaced in place, the user's other plugins are appended."""
    disabled = {p["name"] for p in custom.get("disabled") or []}
    enabled = list(custom.get("enabled") or [])
    by_name = {p["name"]: p for p in enabled}
    merged, replaced = [], set()
    if "*" not in disabled:
        for p in defaults:
            if p["name"] in disabled:
                continue
            if p["name"] in by_name:
                p = by_name[p["name"]]
                replaced.add(p["name"])
            merged.append(p)
    return merged + [p for p in enabled if p["name"] not in replaced]


def _expand(point: str, point_cfg: dict, multi_names: list, instances: dict) -> list:
    """The plugins run at one extension point, in Kubernetes' order: the ones named
    at this point that are also multiPoint plugins, then the other multiPoint ones
    that implement it (unless disabled here), then the rest named here."""
    method = POINTS[point][0]
    named = _unique([p["name"] for p in point_cfg.get("enabled") or []], point)
    for name in named:
        if not hasattr(instances[name], method):
            raise ConfigError(f'plugin "{name}" does not extend {point} plugin')
    disabled = {p["name"] for p in point_cfg.get("disabled") or []}
    if "*" in disabled:
        return named
    multi = [n for n in multi_names if hasattr(instances[n], method)
             and n not in disabled and n not in named]
    return ([n for n in named if n in multi_names] + multi
            + [n for n in named if n not in multi_names])


def _enabled(plugins_cfg: dict, point: str) -> list:
    return list((plugins_cfg.get(point) or {}).get("enabled") or [])


def _unique(names: list, point: str) -> list:
    seen = set()
    for name in names:
        if name in seen:
            raise ConfigError(f'plugin "{name}" already registered as "{point}"')
        seen.add(name)
    return names


def _plugin_config(items: list) -> dict:
    from minik8s.scheduler.plugins import PLUGINS
    args = {}
    for item in items:
        name = item.get("name")
        if name not in PLUGINS:
            raise ConfigError(f'pluginConfig: plugin "{name}" does not exist; '
                              f"known plugins: {', '.join(sorted(PLUGINS))}")
        if name in args:
            raise ConfigError(f'pluginConfig: duplicate args for plugin "{name}"')
        args[name] = dict(item.get("args") or {})
    return args


def _instantiate(name: str, args: dict):
    from minik8s.scheduler.plugins import PLUGINS
    factory = PLUGINS.get(name)
    if factory is None:
        raise ConfigError(f'plugin "{name}" does not exist; '
                          f"known plugins: {', '.join(sorted(PLUGINS))}")
    plugin = factory(args)
    if plugin_name(plugin) != name:
        plugin.name = name               # the registry name is the plugin's name
    return plugin


def _check_weight(weight, name: str) -> None:
    if not isinstance(weight, int) or weight < 0:
        raise ConfigError(f'plugin "{name}": weight {weight!r} must be a non-negative integer')


def _check_percentage(value) -> None:
    if not isinstance(value, int) or not 0 <= value <= 100:
        raise ConfigError(f"percentageOfNodesToScore: Invalid value: {value!r}: "
                          "not in valid range [0-100]")


def _read(source) -> dict:
    if isinstance(source, dict):
        return source
    import yaml
    with open(source) as f:
        cfg = yaml.safe_load(f) or {}
    if not isinstance(cfg, dict):
        raise ConfigError(f"{source}: not a KubeSchedulerConfiguration")
    return cfg
