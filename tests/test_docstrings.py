"""The docstring standard of the API freeze, checked mechanically, and the API reference pages kept complete.

Every public function, class and public method (every name in every public module's ``__all__``, walked with
``pkgutil`` as ``tests/test_bad_input.py`` does, and every public function defined on a public class) has a
NumPy-style docstring (sections are numpydoc headings: a title line, then a line of dashes) with

1. a one-line summary (the first line, followed by a blank line or nothing);
2. ``Parameters`` listing exactly the signature's parameters (without ``self``), in order, each with a type,
   and a shape for arrays ("array_like of shape (..., n)" or "broadcastable to ..."), whenever the signature
   has parameters;
3. ``Returns`` (or ``Yields`` for a generator) for a function or method that returns something, each entry with
   a type and a shape for arrays; for a class ``Attributes`` instead (a dataclass lists exactly its fields);
   a ``*`` in a type line (``(R, *batch)``) sits inside double backticks, since napoleon renders types as
   emphasis and a bare ``*`` breaks the strict build;
4. ``Examples`` with at least one ``>>>`` line followed by the output doctest compares (the result dataclasses
   in ``RESULT_TYPES``, which the package builds and users never construct, may omit Examples);
5. ``Notes`` containing the equation (``:math:`` or ``.. math::``) unless the callable is on ``NO_EQUATION``;
6. ``References`` unless the callable is on ``NO_EQUATION`` (nothing to cite) or ``NO_REFERENCE`` (a formula
   too elementary to cite), written as plain text: a ``.. [1]`` citation label is global in Sphinx, so two
   docstrings with ``[1]`` break the strict book build;
7. a raw string wherever it holds LaTeX (a control character from ``\\beta`` or ``\\frac`` fails);
8. only numpydoc section headings (a misspelt heading such as ``Example`` is an unexpected section title in the
   book build).

The allowlists are reviewed: each entry names a public callable and gives the reason in one line. An entry
that no longer names a public callable fails, so the lists cannot rot.

Three checks keep the book's strict build (``jupyter-book build . --all -W -n``) from failing late, each with
the docstring to fix: ``test_cross_references_resolve`` resolves every role (``:func:``, ``:class:``, ``:attr:``
...) of every rendered docstring the way Sphinx and ``book/api/_ext`` do (canonical path, or a bare name the
module exports, or a member of the class being documented); ``test_public_constants_have_a_doc_comment`` and
``test_public_properties_have_a_summary`` catch the public names autodoc would silently leave out.

``test_api_reference_documents_every_public_object_once`` reads the autodoc directives of ``book/api/*.md``:
every public module and every public object appears there exactly once, at its canonical path
(``thermoref.<module>.<name>`` for flat modules, ``thermoref.ising.<name>`` / ``thermoref.attention.<name>``
for the subpackages' members).
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import importlib
import inspect
import pathlib
import pkgutil
import re
import textwrap

import pytest

import thermoref

ROOT = pathlib.Path(__file__).resolve().parents[1]
API_PAGES = ROOT / "book" / "api"

# ----------------------------------------------------------------------------------------------------------
# Reviewed allowlists (canonical names; one-line reason each)
# ----------------------------------------------------------------------------------------------------------
NO_EQUATION: dict[str, str] = {
    # thermoref.backend: bookkeeping
    "thermoref.backend.Ledger.charge": "adds counts to the ledger; the cost model is stated in Ledger",
    "thermoref.backend.Ledger.reset": "sets the counts to zero",
    "thermoref.backend.SystemTooLargeError": "an exception type; the limit is stated in ExactBackend",
    # thermoref.transformer: validators
    "thermoref.transformer.check_params": "validates a parameter mapping against a config and returns it",
    "thermoref.transformer.check_tokens": "validates token ids and returns them as a (B, T) int64 array",
    # Result containers: the equation of what they hold is in the function that computes it.
    "thermoref.attention.ChainSamples": "container returned by metropolis_keys, which has the equations",
    "thermoref.attention.HeadStatistics": "container returned by head_statistics, which defines each statistic",
    "thermoref.attention.PottsMarginals": "container returned by potts_marginals, which has the recursion",
    "thermoref.ising.AnnealResult": "container returned by simulated_annealing",
    "thermoref.ising.ExactLaw": "container returned by exact_law, which states the law",
    "thermoref.ising.LatticeTrace": "container returned by checkerboard_trace",
    "thermoref.langevin.StationaryLaw": "container returned by stationary_law, which states the density",
    "thermoref.mcmc.AutocorrelationTime": "container returned by integrated_autocorrelation_time",
    "thermoref.mcmc.BlockingResult": "container returned by blocking",
    "thermoref.mixture.PMOGMoments": "container returned by pmog_moments",
    "thermoref.ou_linalg.OUSolveResult": "container returned by ou_solve",
    "thermoref.selftest.GateResult": "record of one self-test gate",
    "thermoref.selftest.Subject": "input record of the self-test bench (a claimed law), no formula",
    "thermoref.tempering.PTResult": "container returned by replica_exchange",
    "thermoref.testing.GoodnessOfFit": "container returned by the tests, which state their statistics",
    "thermoref.thermo_mlp.CostModel": "container returned by ThermodynamicMLP.cost, which states the counts",
    # Pure utilities: validation, counting, enumeration, plumbing, I/O.
    "thermoref.ising.check_colouring": "validates a colouring and returns it",
    "thermoref.tempering.check_ladder": "validates a ladder of inverse temperatures and returns it",
    "thermoref.sampling.categorical_counts": "counts occurrences (a bincount per row)",
    "thermoref.testing.enumerate_states": "lists the 2**n binary configurations",
    "thermoref.testing.state_index": "row index of a configuration in enumerate_states order",
    "thermoref.testing.empirical_law": "counts of each configuration (a histogram)",
    "thermoref.selftest.subjects": "lists the bench's subjects",
    "thermoref.selftest.run_gates": "runs the gates; their bounds are stated in the module docstring",
    "thermoref.selftest.report": "formats the bench's table",
    "thermoref.selftest.main": "command-line entry point",
    "thermoref.thermo_mlp.ThermodynamicFFN": "a one-layer ThermodynamicMLP; the equations are in that class",
    "thermoref.thermo_mlp.ThermodynamicMLP.features": "evaluates the layers whose equations the class states",
    "thermoref.thermo_mlp.ThermodynamicMLP.fit": "calls ridge_fit on the features; the equation is there",
    "thermoref.thermo_mlp.ThermodynamicMLP.predict": "features times the fitted read-out",
    "thermoref.langevin.StationaryLaw.pdf": "linear interpolation of the tabulated density",
    # thermoref.pretrained: provenance and files, no physics
    "thermoref.pretrained.ModelCard": "a record of provenance",
    "thermoref.pretrained.model_dir": "a lookup in the installed environment",
    "thermoref.pretrained.file_sha256": "a hash (FIPS 180-4, cited)",
    "thermoref.pretrained.verified_file": "a hash comparison",
    "thermoref.pretrained.MalformedFileError": "an exception type; the checks are stated in read_safetensors and read_gguf",
    "thermoref.pretrained.PretrainedModel": "container returned by load_minilm and load_smollm2",
}

NO_REFERENCE: dict[str, str] = {
    # thermoref.backend
    "thermoref.backend.BiasedUniforms.random": "the flawed uniform; the class cites the p-bit comparator",
    "thermoref.backend.LFSRUniforms.random": "the register's words; the class cites Golomb",
    # thermoref.transformer
    "thermoref.transformer.AttentionTrace": "container returned by forward, which cites the attention formula",
    "thermoref.transformer.AttentionSeam.head_alpha": "places the blend weights; the blend is cited in AttentionSeam",
    "thermoref.transformer.Task.decode": "a table lookup of display symbols",
    # thermoref.gibbs: definitions around the Gibbs law (the law itself is cited in softmax and boltzmann)
    "thermoref.gibbs.logsumexp": "the max-shift identity",
    "thermoref.gibbs.log_softmax": "the logarithm of softmax",
    "thermoref.gibbs.log_partition_function": "the logarithm of Z, shifted by the ground energy",
    "thermoref.gibbs.partition_function": "the definition of Z",
    "thermoref.gibbs.mean_energy": "U = sum_n p_n E_n, the definition of a mean",
    "thermoref.gibbs.free_energy": "F = -kT ln Z, the definition",
    "thermoref.spectra.maxwell_boltzmann_energy_cdf": "the integral of maxwell_boltzmann_energy_pdf, cited there",
    # sampling and empirical laws
    "thermoref.sampling.empirical_frequencies": "p_hat = counts / K, the definition",
    "thermoref.empirical.squared_error": "the squared Euclidean distance",
    "thermoref.empirical.expected_squared_error": "the multinomial variance summed over categories",
    "thermoref.estimators.exact_gradient": "the derivative of a two-point expectation",
    # p-bits and Ising models (the models are cited in their module docstrings and classes)
    "thermoref.pbit.exact_law": "the Gibbs law by enumeration (the law is cited in thermoref.gibbs)",
    "thermoref.pbit.clt_gaussian": "a scaled sum of fair +-1 bits",
    "thermoref.pbit.clt_ks_distance": "an exact supremum over the binomial atoms",
    "thermoref.ising.IsingModel.energy": "the model's quadratic form, cited in IsingModel",
    "thermoref.ising.IsingModel.local_fields": "phi = J s + h, the gradient of the quadratic form",
    "thermoref.ising.ExactLaw.magnetization_law": "sums the exact law over states of equal magnetization",
    "thermoref.ising.ising_energy": "the model's quadratic form, cited in IsingModel",
    "thermoref.ising.exact_law": "the Gibbs law by enumeration (the law is cited in thermoref.gibbs)",
    "thermoref.ising.cut_value": "the sum of the weights of cut edges, the definition",
    "thermoref.ising.maxcut_exact": "enumeration of all cuts",
    "thermoref.ising.heat_bath_table": "the heat-bath probability of checkerboard_gibbs, cited there",
    "thermoref.ising.lattice_energy": "the nearest-neighbour sum, the definition",
    "thermoref.ising.magnetization": "the mean spin, the definition",
    # continuous time
    "thermoref.ou.em_stationary_variance": "the stationary variance of a scalar linear recursion",
    "thermoref.mixture.mixture_pdf": "a weighted sum of normal densities",
    "thermoref.mixture.mixture_cdf": "a weighted sum of normal CDFs",
    "thermoref.langevin.potential": "the quartic polynomial (the neuron model is cited in the module)",
    "thermoref.langevin.drift": "minus the derivative of the potential",
    "thermoref.langevin.StationaryLaw.cdf": "cubic Hermite interpolation with the exact slope",
    "thermoref.thermo_mlp.ThermodynamicMLP.cost": "this project's own accounting of time and FLOPs",
    # attention (the attention formula is cited where it is computed: softmax_attention, attention_logits)
    "thermoref.attention.causal_mask": "the condition j <= i + (S - T)",
    "thermoref.attention.random_logits": "a synthetic logit template of this project",
    "thermoref.attention.local_logits": "a synthetic logit template of this project",
    "thermoref.attention.block_logits": "a synthetic logit template of this project",
    "thermoref.attention.sampled_values": "the Monte Carlo average of the sampled value rows",
    "thermoref.attention.empirical_weights": "counts / K, the definition of an empirical frequency",
    "thermoref.attention.blended_attention": "this project's interpolation between exact and sampled attention",
    "thermoref.attention.sampling_mse": "the variance of a mean of independent draws",
    "thermoref.attention.samples_needed": "sampling_mse solved for the number of draws",
    "thermoref.attention.softmax_jacobian": "the derivative of softmax, diag(p) - p p^T",
    "thermoref.attention.sigmoid_attention_jacobian": "the derivative of the normalised sigmoid weights",
    # testing and the bench
    "thermoref.testing.rejection_rate": "a binomial proportion and its standard error",
    "thermoref.selftest.box_mb_distance": "a total-variation distance; both laws are cited in thermoref.spectra",
}

# Dataclasses the package builds and returns (users never construct them): their class docstring may omit
# Examples (the function that returns them has one).
RESULT_TYPES: set[str] = {
    "thermoref.tempering.PTResult",
    "thermoref.ising.AnnealResult",
    "thermoref.ising.ExactLaw",
    "thermoref.ising.LatticeTrace",
    "thermoref.attention.ChainSamples",
    "thermoref.attention.HeadStatistics",
    "thermoref.attention.PottsMarginals",
    "thermoref.langevin.StationaryLaw",
    "thermoref.mcmc.AutocorrelationTime",
    "thermoref.mcmc.BlockingResult",
    "thermoref.mixture.PMOGMoments",
    "thermoref.ou_linalg.OUSolveResult",
    "thermoref.selftest.GateResult",
    "thermoref.testing.GoodnessOfFit",
    "thermoref.thermo_mlp.CostModel",
}

# numpydoc's section titles (napoleon renders each of them; any other title is a stray section heading).
KNOWN_SECTIONS = {
    "Parameters", "Returns", "Yields", "Receives", "Other Parameters", "Raises", "Warns", "Warnings",
    "See Also", "Notes", "References", "Examples", "Attributes", "Methods",
}


# ----------------------------------------------------------------------------------------------------------
# The public surface
# ----------------------------------------------------------------------------------------------------------
def _public_modules() -> list[str]:
    return ["thermoref"] + [m.name for m in pkgutil.walk_packages(thermoref.__path__, "thermoref.")
                            if not any(p.startswith("_") for p in m.name.split("."))]


MODULES = _public_modules()


def _canonical(name: str, obj: object) -> str:
    """Canonical path: the shallowest public module below ``thermoref`` whose ``__all__`` lists ``obj``.

    ``thermoref.gibbs.softmax`` (not ``thermoref.softmax``), ``thermoref.ising.block_gibbs`` (not
    ``thermoref.ising.samplers.block_gibbs``); an object only the package root exports lives there.
    """
    homes = [m for m in MODULES
             if name in getattr(importlib.import_module(m), "__all__", ())
             and getattr(importlib.import_module(m), name) is obj]
    below = [m for m in homes if m != "thermoref"]
    home = min(below, key=lambda m: m.count(".")) if below else "thermoref"
    return f"{home}.{name}"


def _public_objects() -> dict[str, object]:
    """Every public object (functions, classes, data) by canonical name."""
    found: dict[str, object] = {}
    for modname in MODULES:
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if not inspect.ismodule(obj):
                found.setdefault(_canonical(name, obj), obj)
    return found


def _public_callables() -> dict[str, object]:
    """Public functions and classes, and the public functions defined on public classes."""
    found: dict[str, object] = {}
    for cname, obj in _public_objects().items():
        if inspect.isfunction(obj) or inspect.isclass(obj):
            found[cname] = obj
            if inspect.isclass(obj):
                for mname, member in vars(obj).items():
                    if not mname.startswith("_") and inspect.isfunction(member):
                        found[f"{cname}.{mname}"] = member
    return found


PUBLIC_OBJECTS = _public_objects()
PUBLIC = _public_callables()


# ----------------------------------------------------------------------------------------------------------
# Parsing numpydoc sections
# ----------------------------------------------------------------------------------------------------------
def _docstring(obj: object) -> str:
    """The object's own docstring (not one inherited from a base class), dedented."""
    doc = obj.__doc__ if isinstance(obj.__doc__, str) else ""
    return inspect.cleandoc(doc) if doc else ""


def sections(doc: str) -> tuple[list[str], dict[str, list[str]]]:
    """Split a docstring at numpydoc headings (a title line, then a line of dashes at least 3 long).

    Returns the lines before the first heading and ``{title: body lines}``; a repeated title keeps both bodies.
    """
    lines = doc.splitlines()
    head: list[str] = []
    out: dict[str, list[str]] = {}
    current: list[str] = head
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and not line.startswith(" ") and re.fullmatch(r"-{3,}", nxt.strip()) \
                and not nxt.startswith(" "):
            current = out.setdefault(line.strip(), [])
            i += 2
            continue
        current.append(line)
        i += 1
    return head, out


def entries(body: list[str]) -> list[tuple[list[str], str]]:
    """The entries of a Parameters-like section: ``([names], type)`` for every unindented line.

    ``"a, b : float"`` gives ``(["a", "b"], "float")``; a line without `` : `` gives an empty type. Leading
    ``*`` of ``*args``/``**kwargs`` are dropped.
    """
    out = []
    for line in body:
        if not line.strip() or line.startswith((" ", "\t")):
            continue
        names, sep, typ = line.partition(" : ")
        if not sep and line.rstrip().endswith(" :"):
            names, typ = line.rstrip()[:-2], ""
        out.append(([n.strip().lstrip("*") for n in names.split(",") if n.strip()], typ.strip()))
    return out


def return_entries(body: list[str]) -> list[str]:
    """The type of every entry of a Returns/Yields section (``name : type`` or a bare ``type``)."""
    out = []
    for line in body:
        if not line.strip() or line.startswith((" ", "\t")):
            continue
        _, sep, typ = line.partition(" : ")
        out.append(typ.strip() if sep else line.strip())
    return out


_ARRAY = re.compile(r"\b(array_like|ndarray|array)\b")
_SHAPE = re.compile(r"\bshape\b|broadcast|same shape|like ``?\w+``?")


def _lacks_shape(typ: str) -> bool:
    return bool(_ARRAY.search(typ)) and not _SHAPE.search(typ)


def _type_problem(typ: str) -> str | None:
    """What is wrong with a type line, if anything."""
    if _lacks_shape(typ):
        return f"array without a shape: {typ!r}"
    if "*" in typ and "`" not in typ:
        # napoleon renders a type as *emphasis*; a bare * inside it breaks the strict build
        return f"'*' outside double backticks (napoleon renders a type as emphasis): {typ!r}"
    return None


def _has_math(lines: list[str]) -> bool:
    text = "\n".join(lines)
    return ":math:`" in text or ".. math::" in text


def _has_checked_example(lines: list[str]) -> bool:
    """At least one ``>>>`` statement followed by expected output (a line doctest compares)."""
    stripped = [ln.strip() for ln in lines]
    for k, line in enumerate(stripped):
        if line.startswith(">>>"):
            j = k + 1
            while j < len(stripped) and stripped[j].startswith("..."):
                j += 1
            if j < len(stripped) and stripped[j] and not stripped[j].startswith(">>>"):
                return True
    return False


# ----------------------------------------------------------------------------------------------------------
# What a callable needs
# ----------------------------------------------------------------------------------------------------------
def signature_parameters(obj: object) -> list[str]:
    """Parameter names of a function, or of a class's constructor, without ``self``/``cls``."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    names = [p.name for p in sig.parameters.values()]
    if inspect.isfunction(obj) and names[:1] in (["self"], ["cls"]):
        names = names[1:]
    return names


class _BodyVisitor(ast.NodeVisitor):
    """Does a function body return a value, or yield? Nested functions, classes and lambdas are skipped."""

    def __init__(self) -> None:
        self.returns = False
        self.yields = False

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None and not (isinstance(node.value, ast.Constant) and node.value.value is None):
            self.returns = True

    def visit_Yield(self, node: ast.Yield) -> None:
        self.yields = True

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self.yields = True

    def _skip(self, node: ast.AST) -> None:
        return None

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _skip


def returns_or_yields(func: object) -> tuple[bool, bool]:
    """(returns a value, is a generator), from the return annotation and the function's own body."""
    ann = inspect.signature(func).return_annotation
    if ann is None or ann == "None":
        return False, False
    try:
        src = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return True, False
    tree = ast.parse(src)
    fdef = next(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    v = _BodyVisitor()
    for stmt in fdef.body:
        v.visit(stmt)
    return v.returns and not v.yields, v.yields


def problems(name: str, obj: object) -> list[str]:
    """Every departure of ``obj``'s docstring from the standard, as readable lines."""
    doc = _docstring(obj)
    if not doc:
        return ["no docstring"]
    out: list[str] = []
    lines = doc.splitlines()
    if not lines[0].strip() or (len(lines) > 1 and lines[1].strip()):
        out.append("summary: the first line must be a one-line summary followed by a blank line")
    _, secs = sections(doc)
    for title in secs:
        if title not in KNOWN_SECTIONS:
            out.append(f"section {title!r} is not a numpydoc heading ({', '.join(sorted(KNOWN_SECTIONS))})")
    if re.search(r"[\a\b\t\v\f]", obj.__doc__):
        out.append("docstring contains a control character: a LaTeX backslash (\\beta, \\frac, \\varepsilon) in "
                   "a docstring that is not raw; write r\"\"\"...\"\"\"")
    if re.search(r"^\s*\.\. \[[^\]]+\]", doc, flags=re.M):
        out.append("References: a '.. [label]' citation is global in Sphinx and collides across docstrings; "
                   "write the reference as plain text")

    is_class = inspect.isclass(obj)
    is_dataclass = is_class and dataclasses.is_dataclass(obj)

    # Parameters
    params = signature_parameters(obj)
    if params and not (is_dataclass and "Parameters" not in secs):
        if "Parameters" not in secs:
            out.append(f"Parameters: missing (signature has {params})")
        else:
            ents = entries(secs["Parameters"])
            listed = [n for names, _ in ents for n in names]
            if listed != params:
                missing = [p for p in params if p not in listed]
                extra = [p for p in listed if p not in params]
                detail = (f"missing {missing}" if missing else "") + (" " if missing and extra else "") + \
                         (f"not in the signature {extra}" if extra else "")
                out.append(f"Parameters: must list exactly {params} in order; "
                           + (detail or f"listed in the order {listed}"))
            for names, typ in ents:
                if not typ:
                    out.append(f"Parameters: {', '.join(names)} has no type (write 'name : type')")
                elif _type_problem(typ):
                    out.append(f"Parameters: {', '.join(names)}: {_type_problem(typ)}")
    elif "Parameters" in secs and not params:
        out.append("Parameters: section present but the signature has no parameters")

    # Returns / Yields / Attributes
    if is_class:
        if "Attributes" not in secs or not entries(secs["Attributes"]):
            out.append("Attributes: missing (a class documents its attributes)")
        elif is_dataclass:
            fields = [f.name for f in dataclasses.fields(obj)]
            listed = [n for names, _ in entries(secs["Attributes"]) for n in names]
            if listed != fields:
                out.append(f"Attributes: must list exactly the fields {fields} in order; listed {listed}")
        for names, typ in entries(secs.get("Attributes", [])):
            if not typ:
                out.append(f"Attributes: {', '.join(names)} has no type")
            elif _type_problem(typ):
                out.append(f"Attributes: {', '.join(names)}: {_type_problem(typ)}")
    else:
        returns, yields = returns_or_yields(obj)
        key = "Yields" if yields else "Returns" if returns else None
        if key is not None:
            if key not in secs or not return_entries(secs[key]):
                out.append(f"{key}: missing (the function {'yields' if yields else 'returns'} a value)")
            else:
                for typ in return_entries(secs[key]):
                    if _type_problem(typ):
                        out.append(f"{key}: {_type_problem(typ)}")

    # Examples
    if name not in RESULT_TYPES:
        if "Examples" not in secs:
            out.append("Examples: missing")
        elif not _has_checked_example(secs["Examples"]):
            out.append("Examples: needs a '>>>' line followed by the output doctest compares")

    # Notes with the equation; References
    if name not in NO_EQUATION:
        if "Notes" not in secs:
            out.append("Notes: missing (the equation and its physical reading), or add to NO_EQUATION")
        elif not _has_math(secs["Notes"]):
            out.append("Notes: no equation (:math:`...` or .. math::), or add to NO_EQUATION")
        if name not in NO_REFERENCE and not "".join(secs.get("References", [])).strip():
            out.append("References: missing (author, year, title, journal), or add to NO_REFERENCE")
    return out


# ----------------------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_docstring_follows_the_standard(name):
    found = problems(name, PUBLIC[name])
    assert found == [], f"{name} ({inspect.getsourcefile(PUBLIC[name])}):\n  " + "\n  ".join(found)


def test_allowlists_name_public_callables_with_a_reason():
    bad = []
    for listname, allow in (("NO_EQUATION", NO_EQUATION), ("NO_REFERENCE", NO_REFERENCE)):
        for name, reason in allow.items():
            if name not in PUBLIC:
                bad.append(f"{listname}: {name} is not a public callable")
            if not reason.strip():
                bad.append(f"{listname}: {name} has no reason")
    bad += [f"NO_REFERENCE and NO_EQUATION both list {n}" for n in sorted(set(NO_EQUATION) & set(NO_REFERENCE))]
    for name in sorted(RESULT_TYPES):
        if not (name in PUBLIC and dataclasses.is_dataclass(PUBLIC[name])):
            bad.append(f"RESULT_TYPES: {name} is not a public dataclass")
    assert bad == []


def test_public_properties_have_a_summary():
    """A property without a docstring is left out of the API reference by autodoc (no undoc-members)."""
    bare = [f"{cname}.{pname}"
            for cname, obj in PUBLIC.items() if inspect.isclass(obj)
            for pname, member in vars(obj).items()
            if not pname.startswith("_") and isinstance(member, property) and not _docstring(member.fget)]
    assert bare == []


def _defining_sources(name: str, obj: object) -> list[pathlib.Path]:
    """Source files of every module (public or private) whose ``__all__`` exports ``obj`` under ``name``."""
    mods = ["thermoref"] + [m.name for m in pkgutil.walk_packages(thermoref.__path__, "thermoref.")]
    out = []
    for m in mods:
        mod = importlib.import_module(m)
        if name in getattr(mod, "__all__", ()) and getattr(mod, name) is obj:
            out.append(pathlib.Path(inspect.getsourcefile(mod)))
    return out


def test_public_constants_have_a_doc_comment():
    """A public constant is documented by a ``#:`` comment above its assignment where it is defined.

    Without it autodoc leaves the constant out of a ``:members:`` listing, or shows the docstring of its type
    (``tuple``, ``numpy.float64``) where it is named explicitly.
    """
    bare = []
    for cname, obj in PUBLIC_OBJECTS.items():
        if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismodule(obj):
            continue
        name = cname.rpartition(".")[2]
        pattern = re.compile(rf"^(?:#:.*\n)+{re.escape(name)}\s*(?::[^=\n]*)?=", flags=re.M)
        if not any(pattern.search(src.read_text()) for src in _defining_sources(name, obj)):
            bare.append(cname)
    assert bare == [], f"public constants without a '#:' comment above their assignment: {bare}"


def test_section_parser_reads_the_model_docstring():
    """The parser itself: thermoref.gibbs.softmax is the model the standard points to."""
    _, secs = sections(_docstring(thermoref.gibbs.softmax))
    assert list(secs) == ["Parameters", "Returns", "Notes", "References", "Examples"]
    assert [n for names, _ in entries(secs["Parameters"]) for n in names] == ["z", "temperature", "axis"]
    assert return_entries(secs["Returns"]) == ["ndarray of shape (..., n)"]
    assert _has_math(secs["Notes"]) and _has_checked_example(secs["Examples"])
    assert entries(["a, *args, **kw : float", "    text", "b"]) == [(["a", "args", "kw"], "float"), (["b"], "")]
    assert _lacks_shape("ndarray") and not _lacks_shape("array_like of shape (n,)")
    assert _type_problem("ndarray of shape (R, *batch)") and not _type_problem("ndarray of shape ``(R, *batch)``")
    assert not _has_checked_example([">>> x = 1"]) and _has_checked_example([">>> print(1)", "1"])


# ----------------------------------------------------------------------------------------------------------
# Cross-references, resolved as the strict book build resolves them (a fast check; the build is the authority)
# ----------------------------------------------------------------------------------------------------------
_ROLE = re.compile(r":(?:py:)?(func|class|meth|attr|data|mod|obj|exc|const):`([^`]+)`")


def _documented() -> set[str]:
    """Every name the API reference documents: modules, public objects, public methods and properties."""
    names = set(MODULES) | set(PUBLIC_OBJECTS) | set(PUBLIC)
    for cname, obj in PUBLIC.items():
        if inspect.isclass(obj):
            names |= {f"{cname}.{p}" for p, m in vars(obj).items()
                      if not p.startswith("_") and isinstance(m, property) and _docstring(m.fget)}
    return names


def _docstrings_with_context():
    """(where, docstring, py:module, py:class) for every docstring the API reference renders."""
    for modname in MODULES:
        yield modname, importlib.import_module(modname).__doc__ or "", modname, None
    for cname, obj in PUBLIC.items():
        parent, _, leaf = cname.rpartition(".")
        if inspect.isclass(PUBLIC.get(parent)):  # a method: rendered inside its class
            module, _, cls = parent.rpartition(".")
            yield cname, obj.__doc__ or "", module, cls
        else:  # a class docstring is rendered inside the class: its own members resolve by bare name
            yield cname, obj.__doc__ or "", parent, leaf if inspect.isclass(obj) else None
        if inspect.isclass(obj):
            for p, m in vars(obj).items():
                if not p.startswith("_") and isinstance(m, property) and m.fget.__doc__:
                    yield f"{cname}.{p}", m.fget.__doc__, parent, leaf


def unresolved_references() -> list[str]:
    """Roles whose target the strict build cannot resolve (same search as Sphinx plus book/api/_ext)."""
    documented = _documented()
    bad = []
    for where, doc, module, cls in _docstrings_with_context():
        for role, text in _ROLE.findall(doc):
            target = text.split("<")[-1].rstrip(">") if "<" in text else text
            target = target.strip().lstrip("~").removesuffix("()")
            if "\n" in text or " " in target:
                bad.append(f"{where}: :{role}:`{text}` is split across lines or holds a space")
                continue
            if role in ("class", "exc", "obj") and hasattr(builtins, target):
                continue
            candidates = [target] if role == "mod" else [target, f"{module}.{target}"] + (
                [f"{module}.{cls}.{target}"] if cls else [])
            if target.startswith("."):
                candidates = [n for n in documented if n.endswith(target)]
            if any(c in documented for c in candidates):
                continue
            head, _, rest = target.partition(".")
            mod = importlib.import_module(module)
            if role != "mod" and head in getattr(mod, "__all__", ()):  # book/api/_ext: a bare exported name
                obj = getattr(mod, head)
                homes = [n for n, o in PUBLIC_OBJECTS.items() if o is obj and n.rpartition(".")[2] == head]
                if len(homes) == 1 and (homes[0] + ("." + rest if rest else "")) in documented:
                    continue
            bad.append(f"{where}: :{role}:`{text}` does not resolve (write the canonical path of a public, "
                       f"documented object; an attribute that is only described in 'Attributes' takes ``double "
                       f"backticks``, not a role)")
    return bad


def test_cross_references_resolve():
    bad = unresolved_references()
    assert bad == [], "\n".join(bad)


# ----------------------------------------------------------------------------------------------------------
# The API reference pages
# ----------------------------------------------------------------------------------------------------------
_DIRECTIVE = re.compile(r"^\.\. (auto)?(module|function|class|data|exception|currentmodule)::\s*(\S+)\s*$")


def documented_names() -> list[str]:
    """Every object the autodoc directives of ``book/api/*.md`` document, with repetitions."""
    out: list[str] = []
    for page in sorted(API_PAGES.glob("*.md")):
        current = None
        lines = page.read_text().splitlines()
        for k, line in enumerate(lines):
            m = _DIRECTIVE.match(line.strip())
            if not m:
                continue
            auto, kind, target = m.groups()
            if kind == "currentmodule":
                current = target
                continue
            if kind == "module":
                current = target
                out.append(target)
                options = []
                for opt in lines[k + 1:]:
                    if not opt.startswith("   "):
                        break
                    options.append(opt.strip())
                if auto and ":members:" in options:
                    mod = importlib.import_module(target)
                    out += [f"{target}.{n}" for n in getattr(mod, "__all__", [])
                            if not inspect.ismodule(getattr(mod, n))]
                continue
            out.append(target if target.startswith("thermoref.") or current is None else f"{current}.{target}")
    return out


def test_api_reference_documents_every_public_object_once():
    documented = documented_names()
    expected = set(MODULES) | set(PUBLIC_OBJECTS)
    twice = sorted({n for n in documented if documented.count(n) > 1})
    missing = sorted(expected - set(documented))
    unknown = sorted(set(documented) - expected)
    assert (twice, missing, unknown) == ([], [], []), (
        f"documented twice: {twice}\nnot in book/api: {missing}\nnot public or not canonical: {unknown}")
