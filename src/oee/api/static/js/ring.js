// A fixed-size ring of rows with named columns: the charts' memory stays bounded however long
// the page is open (the oldest row is overwritten once the ring is full).

export class Ring {
  constructor(capacity, columns) {
    this.capacity = capacity;
    this.columns = columns;
    this.data = columns.map(() => new Array(capacity).fill(null));
    this.start = 0; // index of the oldest row
    this.length = 0;
  }

  push(row) {
    // row: one value per column, in the constructor's order.
    const at = (this.start + this.length) % this.capacity;
    row.forEach((value, i) => { this.data[i][at] = value; });
    if (this.length < this.capacity) this.length += 1;
    else this.start = (this.start + 1) % this.capacity;
  }

  last(column) {
    if (!this.length) return undefined;
    return this.data[column][(this.start + this.length - 1) % this.capacity];
  }

  setLast(column, value) {
    if (this.length) this.data[column][(this.start + this.length - 1) % this.capacity] = value;
  }

  arrays() {
    // Every column oldest first, as the plain arrays uPlot draws.
    return this.data.map((column) => {
      const out = new Array(this.length);
      for (let i = 0; i < this.length; i += 1) out[i] = column[(this.start + i) % this.capacity];
      return out;
    });
  }
}
