"""The tutorial notebook, examples/mnist_dense.ipynb: stored clean, its links lead somewhere, and it
runs top to bottom on real MNIST, printing and drawing what the tutorial shows."""

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from test_models import TUTORIAL_SUMMARY
from tinynet import models
from tinynet.models import Sequential

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOK = EXAMPLES / "mnist_dense.ipynb"
ARCHITECTURE = EXAMPLES.parent / "docs" / "architecture.md"


def read_notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


def test_the_notebook_is_stored_without_outputs():
    notebook = read_notebook()
    nbformat.validate(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code_cells) > 10
    for cell in code_cells:
        assert cell.outputs == [] and cell.execution_count is None, cell.source


def assert_links_lead_to_files(text, folder):
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert "../tinynet/models.py" in links and "../tinynet/gradient_check.py" in links
    for link in links:
        assert (folder / link).exists(), f"{link} does not exist"


def test_every_link_in_the_notebook_leads_to_a_file():
    text = "\n".join(cell.source for cell in read_notebook().cells if cell.cell_type == "markdown")
    assert_links_lead_to_files(text, EXAMPLES)


# --- the map of the code that the notebook links to -----------------------------------------------


def test_the_architecture_map_links_to_files_and_names_real_functions():
    text = ARCHITECTURE.read_text()
    assert_links_lead_to_files(text, ARCHITECTURE.parent)
    # The private steps of fit it names (`_train_step`...) must exist, or the map has gone stale.
    names = set(re.findall(r"`(_[A-Za-z_]+)", text))
    assert {"_forward", "_backward", "_train_step", "_train_epoch"} <= names
    for name in names:
        assert hasattr(Sequential, name) or hasattr(models, name), f"{name} is not in tinynet/models.py"


def kernel_of_this_python(directory):
    """A manager that starts the kernel in this very interpreter, where tinynet is installed.

    Jupyter's own "python3" resolves to it in a virtual environment, but a "python3" kernel
    registered by another Python (``ipykernel install --user``) could win elsewhere; a kernel
    spec of our own, written into ``directory``, leaves no doubt.
    """
    from ipykernel.kernelspec import write_kernel_spec  # imported here: only this test needs ipykernel

    write_kernel_spec(str(directory / "python3"))
    specs = KernelSpecManager(kernel_dirs=[str(directory)])
    return KernelManager(kernel_name="python3", kernel_spec_manager=specs)


def cell_output(notebook, source_start):
    """The printed text and displayed results of the code cell whose source starts so."""
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(source_start)]
    text = ""
    for output in cell.outputs:
        if output.output_type == "stream":
            text += output.text
        elif output.output_type == "execute_result":
            text += output.data["text/plain"] + "\n"
    images = sum("image/png" in output.get("data", {}) for output in cell.outputs)
    return text, images


@pytest.mark.mnist
def test_the_notebook_runs_top_to_bottom(mnist_data, tmp_path, monkeypatch):
    (_, y_train), (_, y_test) = mnist_data
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend, as in Jupyter
    notebook = read_notebook()
    client = NotebookClient(
        notebook,
        timeout=600,
        km=kernel_of_this_python(tmp_path / "kernels"),
        resources={"metadata": {"path": str(EXAMPLES)}},  # run from examples/, as Jupyter would
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails

    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not [output for cell in code_cells for output in cell.outputs if output.output_type == "error"]
    assert [cell.execution_count for cell in code_cells] == list(range(1, len(code_cells) + 1))

    text, images = cell_output(notebook, "plt.imshow(x_train[8]")
    assert images == 1 and text.strip() == str(y_train[8])

    text, _ = cell_output(notebook, "print(y_test[0])")
    one_hot = " ".join("1." if digit == y_test[0] else "0." for digit in range(10))
    assert text == f"{y_test[0]}\n[{one_hot}]\n"

    text, _ = cell_output(notebook, "model = Sequential()")
    assert text == TUTORIAL_SUMMARY

    text, _ = cell_output(notebook, "history = model.fit(")
    assert "Epoch 5/5" in text

    text, _ = cell_output(notebook, "test_loss, test_acc = model.evaluate(")
    test_accuracy = float(re.search(r"Test accuracy: ([\d.]+)", text).group(1))
    assert test_accuracy > 0.5

    # predictions[11]: the argmax shown is that of the printed row, which sums to 1.
    argmax, _ = cell_output(notebook, "predictions = model.predict(x_test)")
    row, _ = cell_output(notebook, "print(predictions[11])")
    total, _ = cell_output(notebook, "np.sum(predictions[11])")
    probabilities = np.array(row.strip("[]\n ").split(), dtype=float)
    assert int(argmax.strip().rsplit("(", 1)[-1].strip(")")) == np.argmax(probabilities)
    assert float(total.strip().rsplit("(", 1)[-1].strip(")")) == pytest.approx(1.0, abs=1e-5)

    # The confusion matrix counts every test image; its diagonal is the accuracy evaluate gave.
    text, _ = cell_output(notebook, "from sklearn.metrics import confusion_matrix")
    matrix = np.array([[int(n) for n in re.findall(r"\d+", line)] for line in text.strip().splitlines()])
    assert matrix.shape == (10, 10) and matrix.sum() == len(y_test)
    assert np.trace(matrix) / matrix.sum() == pytest.approx(test_accuracy, abs=1e-4)

    # Each picture cell draws its figure exactly once.
    for source_start in (
        "from tinynet import plot",
        "plot.plot_confusion_matrix(",
        "plot.show_digits(",
        "plot.show_prediction(",
        "kernel, bias = model.layers[0].get_weights()",
    ):
        text, images = cell_output(notebook, source_start)
        assert images == 1 and text == "", source_start

    text, _ = cell_output(notebook, "hidden, probabilities = model.layer_outputs(")
    assert re.search(r"hidden layer: \[[\d. ]+\]\noutput layer: \[[\d. ]+\]", text)

    text, _ = cell_output(notebook, "from tinynet import check_gradients")
    assert "dense_1 (Dense)" in text and "agrees" in text
    assert float(text.strip().splitlines()[-1]) < 1e-6
