'use strict';
const { id, timestamps } = require('../../helpers/columns');

console.log('loading the users migration');

module.exports = {
  async up(queryInterface, Sequelize) {
    console.log('creating users');
    await queryInterface.createTable('users', {
      id: id(Sequelize),
      email: { type: Sequelize.STRING, allowNull: false, unique: true },
      name: { type: Sequelize.STRING },
      ...timestamps(Sequelize),
    });
  },

  async down(queryInterface) {
    console.log('dropping users');
    await queryInterface.dropTable('users');
  },
};
