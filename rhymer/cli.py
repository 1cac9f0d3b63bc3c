"""The `rhymer` command line: corpus, rhymes, train, couplet."""

from __future__ import annotations

import os
import shlex
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rhymer.errors import RhymerError
from rhymer.paths import default_model_dir

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Rhyming couplets in the style of your corpus, written backwards by a character LSTM.",
)
corpus_app = typer.Typer(
    no_args_is_help=True, help="Build a clean corpus from raw lyrics or verse."
)
app.add_typer(corpus_app, name="corpus")

console = Console()
err_console = Console(stderr=True)


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class TrainEngine(str, Enum):
    lstm = "lstm"
    markov = "markov"
    both = "both"


DEFAULT_MODEL = default_model_dir()


_ARGS: list[str] = []  # the arguments main() was given, recorded in trained models


def _argv_command() -> str:
    return shlex.join(["rhymer", *_ARGS])


@app.command()
def train(
    corpus: Annotated[Path, typer.Argument(help="A corpus file (cleaned on the way in).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")] = Path(
        "models/mine"
    ),
    layers: Annotated[int | None, typer.Option(min=1, max=8, help="LSTM layers.")] = None,
    hidden: Annotated[int | None, typer.Option(min=8, max=4096, help="LSTM width.")] = None,
    embd: Annotated[int, typer.Option(min=4, max=1024, help="Embedding size.")] = 64,
    seq_len: Annotated[int | None, typer.Option(min=8, max=2000, help="BPTT length.")] = None,
    batch: Annotated[int, typer.Option(min=1, max=4096, help="Batch size.")] = 64,
    lr: Annotated[float, typer.Option(min=1e-6, max=1.0, help="Adam learning rate.")] = 2e-3,
    epochs: Annotated[int | None, typer.Option(min=1, help="Epochs (default 10).")] = None,
    minutes: Annotated[
        float | None, typer.Option(min=0.01, help="Train for this many minutes instead.")
    ] = None,
    dropout: Annotated[float | None, typer.Option(min=0.0, max=0.9, help="Dropout.")] = None,
    device: Annotated[Device, typer.Option(help="Where to train.")] = Device.auto,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    resume: Annotated[bool, typer.Option(help="Continue from the folder's checkpoint.")] = False,
    engine: Annotated[
        TrainEngine, typer.Option(help="Train the LSTM, the Markov baseline, or both.")
    ] = TrainEngine.both,
    state_size: Annotated[int, typer.Option(min=1, max=6, help="Markov state size.")] = 2,
    threads: Annotated[
        int | None, typer.Option(min=1, max=512, help="CPU threads (default: all cores).")
    ] = None,
    precision: Annotated[
        str,
        typer.Option(
            help="auto (mixed precision where it is faster: bf16 on CPUs with AMX, bf16 or "
            "fp16 on tensor-core GPUs; else fp32), fp32, bf16, or fp16 (CUDA only)."
        ),
    ] = "auto",
) -> None:
    """Train a character LSTM on CORPUS read backwards."""
    from rhymer.progress import TrainDisplay
    from rhymer.train import (
        Trainer,
        TrainSettings,
        amp_dtype,
        pick_device,
        precision_name,
        preset_for,
    )

    if engine is not TrainEngine.markov:  # a bad --precision or --device fails before any work
        amp_dtype(pick_device(device.value), precision)
    if engine is not TrainEngine.lstm:
        import time

        from rhymer.markov import train_markov

        start = time.perf_counter()
        train_markov(corpus, out, state_size)
        console.print(
            f"Markov chain (state size {state_size}) trained in "
            f"{time.perf_counter() - start:.1f} s -> {out / 'markov.json'}"
        )
        if engine is TrainEngine.markov:
            return
    if threads:
        import torch

        torch.set_num_threads(threads)
    size = corpus.stat().st_size if corpus.is_file() else 0
    name, preset = preset_for(size)
    chosen = {"n_layers": layers, "n_hidden": hidden, "seq_len": seq_len, "dropout": dropout}
    preset.update({k: v for k, v in chosen.items() if v is not None})
    settings = TrainSettings(
        **preset,
        n_embd=embd,
        batch_size=batch,
        lr=lr,
        epochs=epochs,
        minutes=minutes,
        device=device.value,
        seed=seed,
        precision=precision,
    )
    trainer = Trainer(corpus, out, settings, command=_argv_command(), resume=resume)
    s = trainer.settings
    console.print(
        f"[bold]rhymer train[/] {corpus} -> {out}  preset [cyan]{name}[/]: "
        f"{s.n_layers}x{s.n_hidden} LSTM, seq {s.seq_len}, batch {trainer.batch}, "
        f"dropout {s.dropout}, lr {s.lr}, device {trainer.device} "
        f"({precision_name(trainer.amp)}); "
        f"{len(trainer.train_data):,} train / {len(trainer.held_data):,} held-out chars"
    )
    with TrainDisplay(console) as display:
        result = trainer.run(display.on_step, display.on_eval)
    if result["interrupted"]:
        console.print("Stopped: the checkpoint and the best model so far are saved.")
    console.print(
        f"Best held-out loss {result['best_bpc']:.3f} bits/char after {result['steps']} steps "
        f"({result['seconds'] / 60:.1f} min); model in {out}"
    )


class EngineChoice(str, Enum):
    lstm = "lstm"
    markov = "markov"
    both = "both"


ModelOpt = Annotated[Path, typer.Option("--model", "-m", help="Model folder.")]


@app.command()
def couplet(
    seed: Annotated[str | None, typer.Option(help="End word of the first line.")] = None,
    rhyme: Annotated[str | None, typer.Option(help="End word of the second line.")] = None,
    model: ModelOpt = DEFAULT_MODEL,
    engine: Annotated[EngineChoice, typer.Option(help="Which engine writes.")] = EngineChoice.lstm,
    temperature: Annotated[float, typer.Option(help="Sampling temperature (0, 5].")] = 0.8,
    candidates: Annotated[
        int, typer.Option("--candidates", "-k", min=1, max=512, help="Candidates per line.")
    ] = 16,
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=1000)] = 1,
    rng_seed: Annotated[int, typer.Option(help="Same seed, same couplets.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Write rhyming couplets; the first line ends in --seed (or a random corpus word)."""
    from rhymer.generate import make_couplets

    names = ["lstm", "markov"] if engine is EngineChoice.both else [engine.value]
    results = make_couplets(
        model,
        names,
        seed=seed,
        rhyme=rhyme,
        count=count,
        k=candidates,
        temperature=temperature,
        rng_seed=rng_seed,
    )
    if as_json:
        console.print_json(data=[[c.to_dict() for c in row] for row in results])
        return
    for i, row in enumerate(results):
        if i:
            console.print()
        if len(row) == 1:
            # soft_wrap: a long line stays one line (the terminal may fold it, rich must not).
            console.print("\n".join(row[0].lines), markup=False, highlight=False, soft_wrap=True)
            continue
        table = Table(show_header=True, box=None, padding=(0, 3))
        for c in row:
            table.add_column(f"{c.engine} ({c.words[0]} / {c.words[1]})")
        table.add_row(*["\n".join(c.lines) for c in row])
        console.print(table, markup=False, highlight=False)


@app.command()
def rhymes(
    word: Annotated[str, typer.Argument(help="The word to rhyme.")],
    model: ModelOpt = DEFAULT_MODEL,
    corpus: Annotated[
        Path | None, typer.Option(help="Rank by this corpus instead of the model's.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Words per level.")] = 20,
) -> None:
    """List rhymes of WORD that the corpus uses, by level, most frequent first."""
    from rhymer.corpus import read_corpus
    from rhymer.lexicon import Lexicon
    from rhymer.rhymes import RhymeIndex, in_cmudict

    lexicon = Lexicon.from_lines(read_corpus(corpus)) if corpus else Lexicon.load(model)
    index = RhymeIndex(lexicon.counts)
    found = index.partners(word, limit=limit)
    if not in_cmudict(word):
        err_console.print(f"{word!r} is not in CMUdict; rhymes are guessed from its spelling.")
    if not any(found.values()):
        close = ", ".join(index.close_words(word)) or "none"
        raise RhymerError(f"No corpus word rhymes with {word!r}; close corpus words: {close}.")
    table = Table("level", "words (corpus count)")
    for level, words in found.items():
        table.add_row(level, ", ".join(f"{w} ({lexicon.counts.get(w, 0)})" for w in words) or "-")
    console.print(table)


@corpus_app.command("build")
def corpus_build(
    inputs: Annotated[list[Path], typer.Argument(help="Files or folders of lyrics or verse.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Clean corpus file to write.")],
) -> None:
    """Clean INPUTs (any encoding, HTML, headers, boilerplate) into one corpus file."""
    from rhymer.corpus import build_corpus

    stats = build_corpus(inputs, out)
    table = Table("corpus", str(out))
    for name, value in stats.rows():
        table.add_row(name, value)
    console.print(table)


@app.command()
def compare(
    model: ModelOpt = DEFAULT_MODEL,
    n: Annotated[int, typer.Option("--n", min=1, max=100_000, help="Rhyme pairs.")] = 200,
    seeds: Annotated[Path | None, typer.Option(help="File of seed words, one per line.")] = None,
    corpus: Annotated[Path | None, typer.Option(help="The model's corpus, if moved.")] = None,
    rng_seed: Annotated[int, typer.Option(help="Same seed, same comparison.")] = 0,
    candidates: Annotated[int, typer.Option("--candidates", "-k", min=1, max=512)] = 16,
    temperature: Annotated[float, typer.Option(help="Sampling temperature (0, 5].")] = 0.8,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write every number here.")
    ] = None,
) -> None:
    """Score the LSTM, the Markov chain and held-out human couplets on the same rhyme pairs."""
    from rich.progress import Progress

    from rhymer.atomic import atomic_write_json
    from rhymer.compare import run_compare

    seed_words = None
    if seeds is not None:
        if not seeds.is_file():
            raise RhymerError(f"Seed file {seeds} does not exist.")
        seed_words = [w for w in seeds.read_text(errors="replace").split() if w.strip()]
        if not seed_words:
            raise RhymerError(f"Seed file {seeds} has no words.")
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("couplets", total=None)
        result = run_compare(
            model,
            n=n,
            seeds=seed_words,
            rng_seed=rng_seed,
            corpus=corpus,
            k=candidates,
            temperature=temperature,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    console.print(result.table())
    if json_out is not None:
        atomic_write_json(json_out, result.to_dict())
        console.print(f"Every number is in {json_out}")


@app.command()
def tui(model: ModelOpt = DEFAULT_MODEL) -> None:
    """Open the terminal app: Rhyme, Train and Compare screens."""
    from tui.app import run

    run(model)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    model: ModelOpt = DEFAULT_MODEL,
) -> None:
    """Serve the same app to a web browser (textual-serve)."""
    from tui.serve import serve as serve_app

    serve_app(host, port, model)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors print one sentence and exit non-zero, never a traceback."""
    _ARGS[:] = sys.argv[1:] if argv is None else argv
    try:
        code = app(args=list(_ARGS), prog_name="rhymer", standalone_mode=False)
    except RhymerError as exc:
        err_console.print(f"[red]rhymer:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Abort:
        err_console.print("rhymer: interrupted.")
        sys.exit(130)
    except typer.TyperException as exc:  # bad flags and arguments: click's usage message
        exc.show()  # type: ignore[attr-defined]
        sys.exit(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        err_console.print("rhymer: interrupted.")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def entry() -> None:
    """The console script: run, flush, and skip the interpreter's slow teardown.

    Freeing torch and the loaded lexicon at exit takes over a second on a small machine, and
    everything rhymer writes is already flushed and renamed into place by then.
    """
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
